import { mount } from 'svelte';
import App from './App.svelte';
import { scrollRegions } from './scroll-regions';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

export default mount(App, { target });

// Tables wider than their box can be scrolled from the keyboard (scroll-regions.ts), on every page.
scrollRegions(target);

// The built app caches itself for offline use (src/sw/service-worker.ts; the dev server has no service worker).
// './sw.js' is beside index.html, wherever the app is hosted.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((e: unknown) => {
    console.warn(`Symbiosis Lab will not work offline: its service worker did not register (${e instanceof Error ? e.message : String(e)})`);
  });
}
