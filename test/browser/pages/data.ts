/**
 * The datasets page: a DataClient on `window.data` (which drives the real
 * data worker), the cache's DatasetStore on `window.datasetStore` (the test
 * inspects IndexedDB directly; only tests may import src/persist outside
 * workers), and the dataset picker mounted on the same client, reading the
 * datasets service at `?endpoint=`. Sets `window.dataReady`.
 */
import { mount } from 'svelte';
import { DatasetStore } from '../../../src/persist/datasets';
import { DataClient } from '../../../src/ui/data-client.svelte';
import DataPickerHarness from './DataPickerHarness.svelte';

declare global {
  interface Window {
    data: DataClient;
    datasetStore: typeof DatasetStore;
    dataReady: boolean;
  }
}

window.data = new DataClient();
window.datasetStore = DatasetStore;
const endpoint = new URL(location.href).searchParams.get('endpoint') ?? '';
mount(DataPickerHarness, { target: document.getElementById('picker')!, props: { client: window.data, endpoint } });
window.dataReady = true;
