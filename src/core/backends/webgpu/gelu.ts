/**
 * GELU (tanh approximation, GPT-2) and its derivative as WGSL functions.
 *
 * There are no standalone GELU or residual kernels: the forward GELU and the
 * residual adds are fused into the epilogues of the matmuls that produce
 * their inputs, and gelu' into the matmul that produces dfchGelu (see
 * `matmul.ts`). A residual add's backward is the identity, folded into the
 * LayerNorm backward that accumulates into the residual-stream gradient.
 *
 *   gelu(x)  = ½x(1 + tanh(u)),  u = √(2/π)(x + 0.044715x³)
 *   gelu'(x) = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)
 *
 * tanh is evaluated through a clamped argument: some WGSL implementations
 * compute tanh(u) as a ratio of exponentials that overflows to NaN for
 * |u| ≳ 44, and tanh(±15) is already ±1 in f32.
 */
export const GELU_WGSL = /* wgsl */ `
const GELU_K = 0.7978845608028654; // sqrt(2/pi)

fn tanhSafe(u: f32) -> f32 {
  return tanh(clamp(u, -15.0, 15.0));
}

fn gelu(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanhSafe(GELU_K * (x + 0.044715 * x * x * x)));
}

fn geluGrad(x: f32) -> f32 {
  let th = tanhSafe(GELU_K * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * GELU_K * (1.0 + 3.0 * 0.044715 * x * x);
}
`;
