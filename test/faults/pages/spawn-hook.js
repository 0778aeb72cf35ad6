// The fault suite's spawn hook, run in every page before the page's own scripts
// (test/faults/tab.ts adds it as an init script): lab workers start as the probe
// worker (test/faults/probe/probe.worker.ts); the next runner gets the armed plan.
(() => {
  const PROBE_URL = '/test/faults/probe/probe.worker.ts?worker_file&type=module';
  const Native = window.Worker;
  const state = {
    spawned: [],
    plan: null,
    /** Lab runners started so far: the n-th is named 'lab-runner#n' in the probe's reports. */
    runners: 0,
    messages: [],
    terminate(name) {
      let n = 0;
      for (const s of state.spawned) {
        if (s.name === name) {
          s.worker.terminate();
          n++;
        }
      }
      return n;
    },
  };
  class Hooked extends Native {
    constructor(url, opts) {
      const isLab = String(url).includes('/workers/lab.worker.ts');
      const name = (opts && opts.name) || '';
      let plan = null;
      let index = 0;
      if (isLab && name === 'lab-runner') {
        plan = state.plan;
        state.plan = null;
        index = ++state.runners;
      }
      const options = { plan, newerDb: new URLSearchParams(location.search).has('newer-db'), index };
      super(isLab ? PROBE_URL : url, isLab ? { ...opts, name: `${name}|${JSON.stringify(options)}` } : opts);
      state.spawned.push({ name, worker: this });
    }
  }
  window.Worker = Hooked;
  // A page of a "newer build" (?newer-db): its own database opens go one version up too (see probe.ts).
  if (new URLSearchParams(location.search).has('newer-db')) {
    const open = IDBFactory.prototype.open;
    IDBFactory.prototype.open = function (name, version) {
      if (name !== 'symbiosis-lab' || version === undefined) return open.call(this, name, version);
      const request = open.call(this, name, version + 1);
      request.addEventListener('upgradeneeded', (event) => {
        if (!request.result.objectStoreNames.contains('newerBuild')) request.result.createObjectStore('newerBuild');
        Object.defineProperty(event, 'newVersion', { value: version });
      });
      return request;
    };
  }
  window.faults = state;
  new BroadcastChannel('symbiosis-lab/faults').addEventListener('message', (e) => state.messages.push(e.data));
})();
