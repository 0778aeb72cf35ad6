/**
 * Pieces shared by the WGSL kernels of the WebGPU backend.
 *
 * Conventions of every kernel in this folder:
 *   - binding 0 is a uniform `Params` struct of u32 fields (shapes and float
 *     offsets into the bound buffers), written once per (B,T) shape;
 *   - tensors are flat `array<f32>` (or `array<vec4<f32>>` in the blocked
 *     kernels) in the row-major layouts of `gpt/layers.ts` (x (B,T,C) means
 *     x[(b*T + t)*C + c]); parameters and gradients are bound as whole buffers
 *     and addressed with the view's float offset; the logits rows are padded
 *     to Vp = ⌈V/4⌉·4 floats;
 *   - kernels that need more workgroups than one grid dimension allows are
 *     dispatched as a 2-D grid (the backend's `grid`) and recover their linear
 *     index with `linearGroup`; the uniform carries the true count to skip the
 *     overhang;
 *   - every sum is done by one invocation in a fixed order or by a fixed-shape
 *     tree in workgroup memory, never with atomics, so the same inputs give
 *     the same bits on the same adapter.
 */

/** Build `struct Params { a: u32, b: u32, ... }` from a field list. */
export function paramsStruct(fields: readonly string[]): string {
  return `struct Params {\n${fields.map((f) => `  ${f}: u32,`).join('\n')}\n}\n@group(0) @binding(0) var<uniform> p: Params;\n`;
}

/** Pack the values of a `paramsStruct` in field order (the uniform's bytes). */
export function packParams<F extends string>(fields: readonly F[], values: Record<F, number>): Uint32Array {
  const out = new Uint32Array(fields.length);
  fields.forEach((f, i) => {
    const x = values[f];
    if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`kernel parameter ${f} = ${x} is not a u32`);
    out[i] = x;
  });
  return out;
}

/** WGSL helpers every kernel may use. */
export const WGSL_COMMON = /* wgsl */ `
// Linear workgroup index of a 2-D dispatch (see WebGpuBackend.grid in the host code).
fn linearGroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Finite test on the bits: WGSL has no isNan/isInf, and compilers may fold x != x away.
fn isFiniteF32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

const NEG_MAX = -3.402823466e+38;
`;

/**
 * A tree reduction over a workgroup of `size` invocations (a power of two),
 * in workgroup memory `name`. Call from uniform control flow only.
 * Emits `fn ${name}Sum(li, x) -> f32` and `fn ${name}Max(li, x) -> f32`.
 */
export function wgslReduce(name: string, size: number): string {
  return /* wgsl */ `
var<workgroup> ${name}: array<f32, ${size}>;

fn ${name}Sum(li: u32, x: f32) -> f32 {
  ${name}[li] = x;
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { ${name}[li] = ${name}[li] + ${name}[li + s]; }
    workgroupBarrier();
  }
  let r = ${name}[0];
  workgroupBarrier();
  return r;
}

fn ${name}Max(li: u32, x: f32) -> f32 {
  ${name}[li] = x;
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { ${name}[li] = max(${name}[li], ${name}[li + s]); }
    workgroupBarrier();
  }
  let r = ${name}[0];
  workgroupBarrier();
  return r;
}
`;
}
