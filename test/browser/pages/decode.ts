/** The decoder page: exposes the suite on `window.decode`, then sets `window.decodeReady`. */
import { type DecodeSuite, suite } from './decode-suite';

declare global {
  interface Window {
    decode: DecodeSuite;
    decodeReady: boolean;
  }
}

window.decode = suite;
window.decodeReady = true;
