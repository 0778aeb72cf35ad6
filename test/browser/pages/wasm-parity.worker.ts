/** The Wasm engine suite inside a Web Worker (its pool's workers are nested workers there). */
import * as Comlink from 'comlink';
import { suite } from './wasm-parity-suite';

Comlink.expose(suite);
