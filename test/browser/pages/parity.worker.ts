/** The parity suite inside a Web Worker: WebGPU through WorkerNavigator.gpu. */
import * as Comlink from 'comlink';
import { suite } from './parity-suite';

Comlink.expose(suite);
