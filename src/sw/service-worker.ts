/**
 * The built app's service worker: after the first visit the lab works
 * offline (README: Publishing). vite.config.ts writes it to `sw.js` beside
 * index.html with BUILD filled in: this build's files and a version.
 * Install caches them (app shell, workers, public/runs) in a cache named for
 * the build; activate deletes older builds' caches; fetch answers same-origin
 * GETs in scope, the page network-first (an update shows once online), the
 * rest cache-first. Left to the network: other origins (models and datasets
 * cache themselves), ort/ (transformers.js caches it), range requests.
 * Hand-written: precaching one list and two strategies is this page;
 * vite-plugin-pwa (Workbox) would add 338 packages to generate as much.
 */
export {};

declare const self: ServiceWorkerGlobalScope;
declare const __SW_BUILD__: { version: string; files: string[] };

const BUILD = __SW_BUILD__;
const PREFIX = 'symbiosis-lab-app-';
const CACHE = `${PREFIX}${BUILD.version}`;
/** The app's folder (where index.html and sw.js lie), with a trailing slash. */
const scope = (): string => self.registration.scope;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll([scope(), ...BUILD.files.map((f) => new URL(f, scope()).href)])),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

/** Whether the service worker answers this request (otherwise the browser fetches it as if there were none). */
function handled(request: Request): boolean {
  if (request.method !== 'GET' || request.headers.has('range')) return false;
  const url = new URL(request.url);
  return url.href.startsWith(scope()) && !url.pathname.startsWith(new URL('ort/', scope()).pathname);
}

async function fromNetworkFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(scope(), response.clone());
    return response;
  } catch (e) {
    const cached = await cache.match(scope());
    if (cached) return cached;
    throw e;
  }
}

async function fromCacheFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (!handled(request)) return;
  event.respondWith(request.mode === 'navigate' ? fromNetworkFirst(request) : fromCacheFirst(request));
});
