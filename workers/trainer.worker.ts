/**
 * The trainer worker: creates the backend the UI chose (or auto's pick, see
 * autoBackend) and runs the engine demo on it, off the main thread. The UI talks to
 * it through `src/ui/trainer-client.svelte.ts` only, and cancels a run by
 * terminating the worker.
 */
import * as Comlink from 'comlink';
import type { Backend, BackendKind } from '../src/core/backend';
import { type DeviceReport, autoBackend, createBackend, probeWebGpu } from '../src/core/backends/index';
import type { GptConfig } from '../src/core/gpt/config';
import { encodeCheckpoint } from '../src/core/checkpoint';
import {
  type EngineDemoConfig, type EngineDemoEvent, demoTokenizer, validateEngineDemo,
} from '../src/experiments/engine-demo/config';
import { run } from '../src/experiments/engine-demo/run';
import { messageOf } from '../src/core/tasks';

/** 'auto': WebGPU on a hardware adapter, else the CPU (see autoBackend). */
export type BackendChoice = 'auto' | BackendKind;

/** The backend the run got, and why that one. */
export interface BackendEvent {
  type: 'backend';
  kind: BackendKind;
  description: string;
  reason: string;
  report: DeviceReport;
}

/** The GPU device went away (driver reset, GPU process crash); the run stops. */
export interface DeviceLostEvent {
  type: 'device-lost';
  message: string;
}

/** The run failed; `message` says why (a config field, a device limit, a NaN). */
export interface TrainerErrorEvent {
  type: 'error';
  message: string;
}

export type TrainerEvent = EngineDemoEvent | BackendEvent | DeviceLostEvent | TrainerErrorEvent;

/** The trained model as a checkpoint file (safetensors, see core/checkpoint.ts). */
export interface Weights {
  bytes: Uint8Array;
  /** A descriptive file name, e.g. `engine-demo-seed1-200steps.safetensors`. */
  fileName: string;
  config: GptConfig;
}

let backend: Backend | null = null;
/** The config of the run whose weights `backend` holds, and the steps it took. */
let trained: { config: EngineDemoConfig; steps: number } | null = null;

const api = {
  /**
   * Validate `input` (an EngineDemoConfig), create a backend and train. Every
   * outcome, failures included, arrives as events; the promise resolves when
   * the run has ended.
   */
  async train(input: unknown, choice: BackendChoice, onEvent: (e: TrainerEvent) => void): Promise<void> {
    let deviceLost: string | null = null;
    try {
      const valid = validateEngineDemo(input);
      backend?.dispose();
      backend = null;
      trained = null;
      const auto = choice === 'auto' ? autoBackend((await probeWebGpu()).report) : null;
      const created = await createBackend(valid.model, {
        prefer: choice === 'auto' ? auto?.prefer : choice,
        onDeviceLost: (message) => {
          deviceLost = message;
          onEvent({ type: 'device-lost', message });
        },
      });
      const current = created.backend;
      backend = current;
      onEvent({
        type: 'backend',
        kind: current.kind,
        description: current.description,
        reason: auto?.reason ?? created.reason,
        report: created.report,
      });
      const progress = { config: valid.config, steps: 0 };
      trained = progress;
      await run(valid, current, (e) => {
        if (e.type === 'step') progress.steps = e.step;
        onEvent(e);
      });
    } catch (e) {
      // After a device loss the backend's own error is a consequence; the device-lost event already said why.
      if (deviceLost === null) onEvent({ type: 'error', message: messageOf(e) });
    }
  },

  /** The trained parameters and tokenizer as a checkpoint, moved (not copied) to the caller. */
  async weights(): Promise<Weights> {
    if (!backend || !trained) throw new Error('no trained model: train first');
    const { config, steps } = trained;
    const bytes = encodeCheckpoint({
      config: backend.config,
      params: await backend.getParams(),
      tokenizer: demoTokenizer,
      meta: { experiment: 'engine-demo', demoConfig: JSON.stringify(config), steps: String(steps), backend: backend.kind },
    });
    const fileName = `engine-demo-seed${config.seed}-${steps}steps.safetensors`;
    return Comlink.transfer({ bytes, fileName, config: backend.config }, [bytes.buffer]);
  },
};

export type TrainerApi = typeof api;

Comlink.expose(api);
