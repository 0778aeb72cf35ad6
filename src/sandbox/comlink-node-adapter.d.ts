// Comlink ships its Node adapter as dist/esm/node-adapter.mjs with types in
// node-adapter.d.ts (no .d.mts), so TypeScript does not pair them: pair them here.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  export { default } from 'comlink/dist/esm/node-adapter';
}
