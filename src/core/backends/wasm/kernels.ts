/**
 * The CPU engine's WebAssembly kernels, written with the emitter of
 * `emit.ts`: 128-bit SIMD (f32x4) versions of the layers of `gpt/layers.ts`
 * (the readable reference they are tested against) plus AdamW.
 *
 * Conventions: every pointer is a BYTE address in the one shared memory;
 * every stride and size is in ELEMENTS (f32). Functions that a thread pool
 * may split take `begin, end` (a range of their outer index: rows, tasks,
 * elements) and `tid` (the calling thread's index, for per-thread scratch)
 * as their last three parameters; each element of the output is computed by
 * the same arithmetic whatever the split, so a run has the same bits on one
 * thread or several.
 *
 * Legend as in gpt/layers.ts: B batch, T time, C channels, NH heads,
 * hs = C/NH, hsp = hs rounded up to 4, Tp = T rounded up to 4, V vocab.
 */
import {
  call, type Expr, f32, f32x4, f64, f64x2, type FunctionBuilder, type FuncRef, i32, i32x4, type Local, ModuleBuilder,
  select, shuffle32, v128,
} from './emit';

export interface KernelOptions {
  /** Use relaxed-SIMD fused multiply-add (where the engine validates it). */
  fma: boolean;
  /** Import a shared memory (threads; needs SharedArrayBuffer). */
  shared: boolean;
  /** The memory's maximum, in 64 KiB pages (shared memories need one; none for an unshared memory). */
  maxPages?: number;
  /** gemm register tile: rows of A × vectors (4 columns each) of B; default DEFAULT_TILE. */
  tile?: { mr: number; nv: number };
}

/**
 * gemm sums k in blocks of KC at multiples of KC (a panel of B stays in L1:
 * +10–25% on the weight gradients, where K is the batch's token count);
 * each block's sum is added to the output in order, the first with the bias.
 * Every path (packed or not, causal or not) blocks at the same multiples, so
 * an output element has the same bits whichever path computes it.
 */
export const KC = 512;

/** gemm flags (bits). */
export const GEMM = {
  /** out += A·B instead of out = A·B. */
  ACCUMULATE: 1,
  /** Causal scores: the tile of rows [m, m+mr) computes columns n < m+mr only. */
  CAUSAL_N: 2,
  /** Causal weights: rows [m, m+mr) use k < m+mr only (A is 0 beyond: skipping those terms changes no bit). */
  CAUSAL_K_UPPER: 4,
  /** Transposed causal weights: rows [m, m+mr) use k ≥ m only (A is 0 before). */
  CAUSAL_K_LOWER: 8,
} as const;

/** Bytes of gemm's packing scratch per thread for products over K rows: an A block (≤ 32 Ki floats, or MR rows) and a B panel (K × 4·nv). */
export function gemmPackBytes(K: number, tile = DEFAULT_TILE): number {
  const k = Math.min(K, KC);
  return 4 * (32768 + tile.mr * k) + 16 * tile.nv * k + 256;
}

/** The gemm register tile (rows × f32x4 vectors) that fits x86-64's 15 allocatable vector registers with its operands. */
export const DEFAULT_TILE = { mr: 4, nv: 2 };

/** Bytes a thread needs for attention scratch: Q, K, V, dO, dQ, dK, dV (T,hsp), Kᵀ, Vᵀ (hsp,Tp), dP (T,Tp), + slack. */
export function attentionScratchBytes(T: number, hs: number): number {
  const hsp = roundUp4(hs);
  const Tp = roundUp4(T);
  return 4 * (7 * T * hsp + 2 * hsp * Tp + T * Tp) + 256;
}

/** Rows per block of layernormBackward's partial weight/bias sums (fixed, so the sums are the same for any thread count). */
export const LN_BLOCK_ROWS = 16;

/** Elements per block of sumSquaresBlocks (fixed for the same reason). */
export const SUMSQ_BLOCK = 1 << 16;

export function roundUp4(n: number): number {
  return (n + 3) & ~3;
}

/** The names of the kernels a pool may run (exported functions). */
export const KERNEL_NAMES = [
  'gemm', 'transpose', 'layernormForward', 'layernormBackward', 'geluForward', 'geluBackward',
  'attentionForward', 'attentionBackward', 'attentionDecode', 'crossEntropy', 'adamw', 'sumSquares', 'sumSquaresBlocks', 'columnSums',
  'encoderForward', 'encoderBackward',
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/**
 * Vector constants live in a table at this byte address (written by the
 * runtime, see KernelModule.constants) and are loaded at a function's entry:
 * V8 folds a v128.const into every use and rebuilds it there, inside loops
 * too (three instructions, two of them shuffles, per use).
 */
export const CONSTANTS_BYTE = 256;
export const CONSTANTS_END = 1024;

export interface KernelModule {
  bytes: Uint8Array;
  /** The constant table's bytes, to be written at CONSTANTS_BYTE before any kernel runs. */
  constants: Uint8Array;
}

/** Build the module. */
export function buildKernels(o: KernelOptions): KernelModule {
  const mod = new ModuleBuilder({ module: 'env', name: 'memory', minPages: 1, shared: o.shared, ...(o.maxPages ? { maxPages: o.maxPages } : {}) });
  const log = mod.importFunction('env', 'log', ['f64'], ['f64']);
  const MR = o.tile?.mr ?? DEFAULT_TILE.mr;
  const NV = o.tile?.nv ?? DEFAULT_TILE.nv;
  /** a·b + c, fused where relaxed SIMD is used. */
  const madd = (a: Expr, b: Expr, c: Expr): Expr => (o.fma ? f32x4.relaxed_madd(a, b, c) : f32x4.add(f32x4.mul(a, b), c));
  const c = i32.const;
  const add = i32.add;
  const mul = i32.mul;
  /** base + 4·index: the byte address of element `index` of an f32 array. */
  const at = (base: Expr, index: Expr): Expr => add(base, i32.shl(index, c(2)));

  // -------------------------------------------------------------------------
  // gemm: out (M,N) (+)= A (M,K) · B (K,N) (+ bias (N)).
  // A is read through strides (element (m,k) at a + 4·(m·sAm + k·sAk)), so
  // both A and Aᵀ serve without a copy; B and out are row-major with leading
  // dimensions ldb, ldo. Vectorised over N: a tile of mr rows × nv vectors
  // keeps mr·nv f32x4 accumulators in registers, and for each k loads nv
  // vectors of B and broadcasts one element of A per row. Each output sums
  // its k terms in ascending order, then adds the bias, then (ACCUMULATE)
  // the old value: the same arithmetic for every tile shape, so a row's
  // result never depends on the rows computed beside it.

  /**
   * One tile: out[0…mr, 0…ncols) (+)= A[0…mr, 0…k) · B[0…k, 0…4·nv) (+ bias).
   * Generic tiles read A through strides (sAm4, sAk4: bytes) and B through
   * its row stride ldb4; packed tiles read both from the panels gemm packs
   * (A: MR floats per k, B: 4·NV floats per k) through one pointer each and
   * constant offsets. (Unrolling k made V8 interleave the steps and spill
   * registers.) Both sum k in ascending order.
   */
  const tileFunc = (mr: number, nv: number, packed: boolean): FuncRef => mod.func(`tile${packed ? 'P' : ''}${mr}x${nv}`, [
    ['out', 'i32'], ['ldo4', 'i32'], ['a', 'i32'], ['sAm4', 'i32'], ['sAk4', 'i32'], ['b', 'i32'], ['ldb4', 'i32'],
    ['k', 'i32'], ['bias', 'i32'], ['ncols', 'i32'], ['accumulate', 'i32'],
  ], [], (f, out, ldo4, a, sAm4, sAk4, b, ldb4, k, bias, ncols, accumulate) => {
    const acc: Local[][] = [];
    for (let r = 0; r < mr; r++) acc.push(Array.from({ length: nv }, (_, j) => f.local('v128', `acc${r}_${j}`)));
    const bv = Array.from({ length: nv }, (_, j) => f.local('v128', `b${j}`));
    const av = f.local('v128', 'a');
    const pb = f.local('i32', 'pb');
    pb.set(b.get());
    if (packed) {
      const pa = f.local('i32', 'pa');
      pa.set(a.get());
      /** One k step at byte offsets (ka, kb) from pa, pb. */
      const stepAt = (ka: number, kb: number) => {
        for (let j = 0; j < nv; j++) bv[j]!.set(v128.load(pb.get(), kb + 16 * j));
        for (let r = 0; r < mr; r++) {
          av.set(v128.load32_splat(pa.get(), ka + 4 * r));
          for (let j = 0; j < nv; j++) acc[r]![j]!.set(madd(av.get(), bv[j]!.get(), acc[r]![j]!.get()));
        }
      };
      f.block(() => {
        f.brIf('block', i32.le_s(k.get(), c(0)));
        f.loop(() => {
          stepAt(0, 0);
          pa.set(add(pa.get(), c(4 * MR)));
          pb.set(add(pb.get(), c(16 * NV)));
          k.set(i32.sub(k.get(), c(1)));
          f.brIf('loop', k.get());
        });
      });
    } else {
      const pa = Array.from({ length: mr }, (_, r) => f.local('i32', `pa${r}`));
      for (let r = 0; r < mr; r++) pa[r]!.set(r === 0 ? a.get() : add(pa[r - 1]!.get(), sAm4.get()));
      f.block(() => {
        f.brIf('block', i32.le_s(k.get(), c(0)));
        f.loop(() => {
          for (let j = 0; j < nv; j++) bv[j]!.set(v128.load(pb.get(), 16 * j));
          for (let r = 0; r < mr; r++) {
            av.set(v128.load32_splat(pa[r]!.get()));
            for (let j = 0; j < nv; j++) acc[r]![j]!.set(madd(av.get(), bv[j]!.get(), acc[r]![j]!.get()));
            pa[r]!.set(add(pa[r]!.get(), sAk4.get()));
          }
          pb.set(add(pb.get(), ldb4.get()));
          k.set(i32.sub(k.get(), c(1)));
          f.brIf('loop', k.get());
        });
      });
    }
    // Epilogue: + bias, + old value, store (the last vector may be partial: lanes past ncols are not stored).
    const po = f.local('i32', 'po');
    const v = f.local('v128', 'v');
    for (let r = 0; r < mr; r++) {
      po.set(r === 0 ? out.get() : add(po.get(), ldo4.get()));
      for (let j = 0; j < nv; j++) {
        v.set(acc[r]![j]!.get());
        f.if(bias.get(), () => v.set(f32x4.add(v.get(), v128.load(bias.get(), 16 * j))));
        f.if(accumulate.get(), () => v.set(f32x4.add(v128.load(po.get(), 16 * j), v.get())));
        if (j < nv - 1) {
          f.stmt(v128.store(po.get(), v.get(), 16 * j));
        } else {
          f.if(i32.ge_s(ncols.get(), c(4 * nv)), () => f.stmt(v128.store(po.get(), v.get(), 16 * j)), () => {
            for (let l = 0; l < 4; l++) {
              f.if(i32.gt_s(ncols.get(), c(4 * j + l)), () => f.stmt(v128.store32_lane(po.get(), v.get(), l, 16 * j + 4 * l)));
            }
          });
        }
      }
    }
  }, false);

  const tiles: FuncRef[][][] = [[], []];
  for (const packed of [0, 1]) {
    for (let mr = 1; mr <= MR; mr++) {
      tiles[packed]![mr] = [];
      for (let nv = 1; nv <= NV; nv++) tiles[packed]![mr]![nv] = tileFunc(mr, nv, packed === 1);
    }
  }

  /** Calls the tile function for (mr, nv) chosen at run time. */
  const callTile = (f: FunctionBuilder, packed: 0 | 1, mr: Local, nv: Local, args: Expr[]) => {
    for (let r = 1; r <= MR; r++) {
      f.if(i32.eq(mr.get(), c(r)), () => {
        for (let j = 1; j <= NV; j++) f.if(i32.eq(nv.get(), c(j)), () => f.stmt(call(tiles[packed]![r]![j]!, ...args)));
      });
    }
  };

  /**
   * gemm over rows [begin, end) of out. With `pack` ≠ 0 (products without
   * causal flags), the rows go in blocks of mb whose A rows (mb × K, about
   * 128 KiB: L2) are first copied into the thread's scratch at
   * pack + tid·packBytes, interleaved by tiles of MR rows, and each n-tile's
   * column panel of B (K × 4·NV) after them, so the packed tiles read both
   * contiguously; without, tiles read A and B in place (attention's small
   * causal products).
   */
  const gemm = mod.func('gemm', [
    ['out', 'i32'], ['ldo', 'i32'], ['a', 'i32'], ['sAm', 'i32'], ['sAk', 'i32'], ['b', 'i32'], ['ldb', 'i32'],
    ['M', 'i32'], ['N', 'i32'], ['K', 'i32'], ['bias', 'i32'], ['flags', 'i32'], ['pack', 'i32'], ['packBytes', 'i32'],
    ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, out, ldo, a, sAm, sAk, b, ldb, _M, N, K, bias, flags, pack, packBytes, begin, end, tid) => {
    const mb = f.local('i32', 'mb');
    const mbEnd = f.local('i32', 'mbEnd');
    const MB = f.local('i32', 'MB');
    const n = f.local('i32', 'n');
    const m = f.local('i32', 'm');
    const mr = f.local('i32', 'mr');
    const nv = f.local('i32', 'nv');
    const nEnd = f.local('i32', 'nEnd');
    const k0 = f.local('i32', 'k0');
    const k1 = f.local('i32', 'k1');
    const ncols = f.local('i32', 'ncols');
    const accumulate = f.local('i32', 'accumulate');
    const aPanel = f.local('i32', 'aPanel');
    const bPanel = f.local('i32', 'bPanel');
    const kk = f.local('i32', 'kk');
    const kb = f.local('i32', 'kb');
    const kc = f.local('i32', 'kc');
    const r = f.local('i32', 'r');
    const src = f.local('i32', 'src');
    const dst = f.local('i32', 'dst');
    const [t0, t1, t2, t3] = [0, 1, 2, 3].map((i) => f.local('v128', `t${i}`)) as [Local, Local, Local, Local];
    const nTileCols = 4 * NV;
    accumulate.set(i32.and(flags.get(), c(GEMM.ACCUMULATE)));
    f.if(i32.and(i32.ne(pack.get(), c(0)), i32.eqz(i32.and(flags.get(), c(GEMM.CAUSAL_N | GEMM.CAUSAL_K_LOWER | GEMM.CAUSAL_K_UPPER)))), () => {
      // Rows per block: an A block of ≈ 32 Ki floats (one k-block wide), between MR and 64·MR rows.
      MB.set(i32.div_s(c(32768), i32.max_s(i32.min_s(K.get(), c(KC)), c(1))));
      MB.set(i32.mul(i32.max_s(c(1), i32.min_s(c(64), i32.div_s(MB.get(), c(MR)))), c(MR)));
      aPanel.set(add(pack.get(), mul(tid.get(), packBytes.get())));
      bPanel.set(add(aPanel.get(), i32.shl(mul(MB.get(), i32.min_s(K.get(), c(KC))), c(2))));
      f.forUp(mb, begin.get(), end.get(), MB.get(), () => {
        mbEnd.set(i32.min_s(add(mb.get(), MB.get()), end.get()));
        // k-blocks [kb, kb + kc) at multiples of KC (one block of 0 when K = 0, so the bias is still written).
        f.forUp(kb, c(0), i32.max_s(K.get(), c(1)), KC, () => {
          kc.set(i32.min_s(c(KC), i32.sub(K.get(), kb.get())));
          // A block → aPanel: tile i's element (r, k) at ((i·kc + k)·MR + r); rows past mbEnd are 0.
          dst.set(aPanel.get());
          f.forUp(m, mb.get(), mbEnd.get(), MR, () => {
            kk.set(c(0));
            if (MR === 4) {
              // Whole 4-row tiles: vector copies (Aᵀ: 4 rows of one k are adjacent; A: a 4×4 transpose per 4 k).
              f.if(i32.le_s(add(m.get(), c(4)), mbEnd.get()), () => {
                src.set(at(a.get(), add(mul(m.get(), sAm.get()), mul(kb.get(), sAk.get()))));
                f.if(i32.eq(sAm.get(), c(1)), () => {
                  f.forUp(kk, c(0), kc.get(), 1, () => {
                    f.stmt(v128.store(dst.get(), v128.load(src.get())));
                    src.set(at(src.get(), sAk.get()));
                    dst.set(add(dst.get(), c(16)));
                  });
                }, () => {
                  f.if(i32.eq(sAk.get(), c(1)), () => {
                    f.forUp(kk, c(0), i32.sub(kc.get(), c(3)), 4, () => {
                      const row = (r: number) => v128.load(at(src.get(), add(mul(c(r), sAm.get()), kk.get())));
                      // [r0 r1 r2 r3] rows of 4 k → columns: lo = (r0₀ r1₀ r0₁ r1₁), …
                      t0.set(shuffle32(row(0), row(1), [0, 4, 1, 5]));
                      t1.set(shuffle32(row(2), row(3), [0, 4, 1, 5]));
                      t2.set(shuffle32(row(0), row(1), [2, 6, 3, 7]));
                      t3.set(shuffle32(row(2), row(3), [2, 6, 3, 7]));
                      f.stmt(v128.store(dst.get(), shuffle32(t0.get(), t1.get(), [0, 1, 4, 5])));
                      f.stmt(v128.store(dst.get(), shuffle32(t0.get(), t1.get(), [2, 3, 6, 7]), 16));
                      f.stmt(v128.store(dst.get(), shuffle32(t2.get(), t3.get(), [0, 1, 4, 5]), 32));
                      f.stmt(v128.store(dst.get(), shuffle32(t2.get(), t3.get(), [2, 3, 6, 7]), 48));
                      dst.set(add(dst.get(), c(64)));
                    });
                  });
                });
              });
            }
            // The rest (a partial tile, general strides, the last kc mod 4 columns): element by element.
            f.forUp(kk, kk.get(), kc.get(), 1, () => {
              src.set(at(a.get(), add(mul(m.get(), sAm.get()), mul(add(kb.get(), kk.get()), sAk.get()))));
              f.forUp(r, c(0), c(MR), 1, () => {
                f.if(i32.lt_s(add(m.get(), r.get()), mbEnd.get()), () => f.stmt(f32.store(dst.get(), f32.load(src.get()))),
                  () => f.stmt(f32.store(dst.get(), f32.const(0))));
                src.set(at(src.get(), sAm.get()));
                dst.set(add(dst.get(), c(4)));
              });
            });
          });
          f.forUp(n, c(0), N.get(), nTileCols, () => {
            // B panel → bPanel: kc rows of 4·NV floats.
            src.set(at(b.get(), add(mul(kb.get(), ldb.get()), n.get())));
            dst.set(bPanel.get());
            f.forUp(kk, c(0), kc.get(), 1, () => {
              for (let j = 0; j < NV; j++) f.stmt(v128.store(dst.get(), v128.load(src.get(), 16 * j), 16 * j));
              src.set(at(src.get(), ldb.get()));
              dst.set(add(dst.get(), c(16 * NV)));
            });
            ncols.set(i32.min_s(c(nTileCols), i32.sub(N.get(), n.get())));
            nv.set(i32.shr_u(add(ncols.get(), c(3)), c(2)));
            f.forUp(m, mb.get(), mbEnd.get(), MR, () => {
              mr.set(i32.min_s(c(MR), i32.sub(mbEnd.get(), m.get())));
              callTile(f, 1, mr, nv, [
                at(out.get(), add(mul(m.get(), ldo.get()), n.get())), i32.shl(ldo.get(), c(2)),
                at(aPanel.get(), mul(i32.sub(m.get(), mb.get()), kc.get())), c(0), c(0),
                bPanel.get(), c(0), kc.get(),
                select(select(at(bias.get(), n.get()), c(0), bias.get()), c(0), i32.eqz(kb.get())),
                ncols.get(), select(accumulate.get(), c(1), i32.eqz(kb.get())),
              ]);
            });
          });
        });
      });
      f.ret();
    });
    f.forUp(mb, begin.get(), end.get(), 16 * MR, () => {
      mbEnd.set(i32.min_s(add(mb.get(), c(16 * MR)), end.get()));
      f.forUp(n, c(0), N.get(), nTileCols, () => {
        f.forUp(m, mb.get(), mbEnd.get(), MR, () => {
          mr.set(i32.min_s(c(MR), i32.sub(mbEnd.get(), m.get())));
          // Columns this tile computes: all N, or (CAUSAL_N) those < m + mr.
          nEnd.set(select(i32.min_s(N.get(), add(m.get(), mr.get())), N.get(), i32.and(flags.get(), c(GEMM.CAUSAL_N))));
          f.if(i32.lt_s(n.get(), nEnd.get()), () => {
            ncols.set(i32.min_s(c(nTileCols), i32.sub(nEnd.get(), n.get())));
            nv.set(i32.shr_u(add(ncols.get(), c(3)), c(2)));
            k0.set(select(m.get(), c(0), i32.and(flags.get(), c(GEMM.CAUSAL_K_LOWER))));
            k0.set(i32.min_s(k0.get(), K.get()));
            k1.set(select(i32.min_s(K.get(), add(m.get(), mr.get())), K.get(), i32.and(flags.get(), c(GEMM.CAUSAL_K_UPPER))));
            // The k range in blocks ending at multiples of KC, as the packed path (at least one call: it writes the bias).
            kb.set(k0.get());
            f.loop(() => {
              kc.set(i32.sub(i32.min_s(k1.get(), mul(add(i32.div_s(kb.get(), c(KC)), c(1)), c(KC))), kb.get()));
              callTile(f, 0, mr, nv, [
                at(out.get(), add(mul(m.get(), ldo.get()), n.get())), i32.shl(ldo.get(), c(2)),
                at(a.get(), add(mul(m.get(), sAm.get()), mul(kb.get(), sAk.get()))), i32.shl(sAm.get(), c(2)), i32.shl(sAk.get(), c(2)),
                at(b.get(), add(mul(kb.get(), ldb.get()), n.get())), i32.shl(ldb.get(), c(2)),
                kc.get(),
                select(select(at(bias.get(), n.get()), c(0), bias.get()), c(0), i32.eq(kb.get(), k0.get())),
                ncols.get(), select(accumulate.get(), c(1), i32.eq(kb.get(), k0.get())),
              ]);
              kb.set(add(kb.get(), kc.get()));
              f.brIf('loop', i32.lt_s(kb.get(), k1.get()));
            });
          });
        });
      });
    });
  });

  // -------------------------------------------------------------------------
  // Elementwise and row helpers.

  /** The constant table: 16 bytes per vector. */
  const table: Uint8Array[] = [];
  const tableIndex = new Map<string, number>();
  /** A vector constant from the table (loaded once, at the function's entry). */
  const constant = (f: FunctionBuilder, lanes: Float32Array | Int32Array): Expr => {
    const bytes = new Uint8Array(lanes.buffer.slice(0));
    const key = bytes.join(',');
    let i = tableIndex.get(key);
    if (i === undefined) {
      i = table.length;
      if (CONSTANTS_BYTE + 16 * (i + 1) > CONSTANTS_END) throw new Error('kernels: the constant table is full');
      table.push(bytes);
      tableIndex.set(key, i);
    }
    return f.hoist(v128.load(c(CONSTANTS_BYTE + 16 * i))).get();
  };
  const kf32 = (x: number): Expr => f32.const(x);
  /** (x, x, x, x) from the table. */
  const kf = (f: FunctionBuilder, x: number): Expr => constant(f, new Float32Array([x, x, x, x]));
  /** Four i32 lanes from the table. */
  const ki = (f: FunctionBuilder, lanes: [number, number, number, number]): Expr => constant(f, new Int32Array(lanes));

  /** A loop over i in [from, to) by 4 with a vector body, then a scalar body for the remaining < 4. */
  const vecThenScalar = (f: FunctionBuilder, i: Local, from: Expr, to: Local, vec: () => void, scalar: () => void) => {
    f.forUp(i, from, i32.sub(to.get(), c(3)), 4, vec);
    f.forUp(i, i.get(), to.get(), 1, scalar);
  };

  /** Horizontal sum of a f32x4, lanes added as (0+1) + (2+3). */
  const hsum = (v: Expr, tmp: Local): Expr => f32.add(
    f32.add(f32x4.extract_lane(tmp.tee(v), 0), f32x4.extract_lane(tmp.get(), 1)),
    f32.add(f32x4.extract_lane(tmp.get(), 2), f32x4.extract_lane(tmp.get(), 3)),
  );

  /**
   * e^x on four lanes (x clamped to [−87.33, 88.37], so the result is finite
   * and normal): n = round(x·log₂e), r = x − n·ln2 (in two parts), eʳ by its
   * degree-7 Taylor polynomial on |r| ≤ ln2/2 (relative error ~1e-7), times 2ⁿ
   * built in the exponent bits. The rounding uses the magic number
   * 1.5·2²³: adding it leaves round-to-nearest(x·log₂e) in the low mantissa
   * bits, which shift straight into 2ⁿ's exponent. The statements go into
   * f; the result is an expression over the temporaries t.
   */
  const MAGIC = 12582912; // 1.5·2²³, bits 0x4B400000
  const expInto = (f: FunctionBuilder, x: Expr, t: { n: Local; r: Local; p: Local }): Expr => {
    const k = (v: number) => kf(f, v);
    t.r.set(f32x4.pmin(f32x4.pmax(x, k(-87.33654)), k(88.37626)));
    t.n.set(f32x4.add(f32x4.mul(t.r.get(), k(Math.LOG2E)), k(MAGIC))); // its bits: 0x4B400000 + n
    t.p.set(f32x4.sub(t.n.get(), k(MAGIC))); // n as a float
    t.r.set(f32x4.sub(t.r.get(), f32x4.mul(t.p.get(), k(0.693359375))));
    t.r.set(f32x4.sub(t.r.get(), f32x4.mul(t.p.get(), k(-2.12194440e-4))));
    // eʳ ≈ Σ_{j≤7} rʲ/j!, in Estrin's form (independent halves: a short dependency chain):
    // (1 + r + r²/2 + r³/6) + r⁴·(1/24 + r/120 + r²/720 + r³/5040).
    const r = t.r.get();
    const r2 = f32x4.mul(r, r);
    const lo = f32x4.add(madd(r, k(1), k(1)), f32x4.mul(r2, madd(r, k(1 / 6), k(1 / 2))));
    const hi = f32x4.add(madd(r, k(1 / 120), k(1 / 24)), f32x4.mul(r2, madd(r, k(1 / 5040), k(1 / 720))));
    t.p.set(madd(f32x4.mul(r2, r2), hi, lo));
    const bias = 127 - 0x4b400000;
    const scale = i32x4.shl(i32x4.add(t.n.get(), ki(f, [bias, bias, bias, bias])), c(23));
    return f32x4.mul(t.p.get(), scale);
  };
  const expTemps = (f: FunctionBuilder) => ({ n: f.local('v128', 'en'), r: f.local('v128', 'er'), p: f.local('v128', 'ep') });

  // -------------------------------------------------------------------------
  // out (C,R) = inp (R,C)ᵀ, rows [begin, end) of inp.
  mod.func('transpose', [
    ['out', 'i32'], ['inp', 'i32'], ['R', 'i32'], ['C', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, out, inp, R, C, begin, end) => {
    const r = f.local('i32', 'r');
    const col = f.local('i32', 'col');
    const src = f.local('i32', 'src');
    f.forUp(r, begin.get(), end.get(), 1, () => {
      src.set(at(inp.get(), mul(r.get(), C.get())));
      f.forUp(col, c(0), C.get(), 1, () => {
        f.stmt(f32.store(at(out.get(), add(mul(col.get(), R.get()), r.get())), f32.load(at(src.get(), col.get()))));
      });
    });
  });

  // -------------------------------------------------------------------------
  // LayerNorm (ε = 1e-5), rows [begin, end):
  // out (N,C), mean (N), rstd (N) ← inp (N,C), weight (C), bias (C).
  mod.func('layernormForward', [
    ['out', 'i32'], ['mean', 'i32'], ['rstd', 'i32'], ['inp', 'i32'], ['weight', 'i32'], ['bias', 'i32'], ['C', 'i32'],
    ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, out, mean, rstd, inp, weight, bias, C, begin, end) => {
    const n = f.local('i32', 'n');
    const i = f.local('i32', 'i');
    const x = f.local('i32', 'x');
    const y = f.local('i32', 'y');
    const sv = f.local('v128', 'sv');
    const tmp = f.local('v128', 'tmp');
    const s = f.local('f32', 's');
    const m = f.local('f32', 'm');
    const d = f.local('f32', 'd');
    const mv = f.local('v128', 'mv');
    const rv = f.local('v128', 'rv');
    const Cf = f.local('f32', 'Cf');
    Cf.set(f32.convert_i32_s(C.get()));
    f.forUp(n, begin.get(), end.get(), 1, () => {
      x.set(at(inp.get(), mul(n.get(), C.get())));
      y.set(at(out.get(), mul(n.get(), C.get())));
      // mean
      sv.set(kf(f, 0));
      s.set(f32.const(0));
      vecThenScalar(f, i, c(0), C, () => sv.set(f32x4.add(sv.get(), v128.load(at(x.get(), i.get())))),
        () => s.set(f32.add(s.get(), f32.load(at(x.get(), i.get())))));
      m.set(f32.div(f32.add(hsum(sv.get(), tmp), s.get()), Cf.get()));
      // biased variance
      mv.set(f32x4.splat(m.get()));
      sv.set(kf(f, 0));
      s.set(f32.const(0));
      vecThenScalar(f, i, c(0), C, () => {
        tmp.set(f32x4.sub(v128.load(at(x.get(), i.get())), mv.get()));
        sv.set(madd(tmp.get(), tmp.get(), sv.get()));
      }, () => {
        d.set(f32.sub(f32.load(at(x.get(), i.get())), m.get()));
        s.set(f32.add(s.get(), f32.mul(d.get(), d.get())));
      });
      s.set(f32.div(f32.const(1), f32.sqrt(f32.add(f32.div(f32.add(hsum(sv.get(), tmp), s.get()), Cf.get()), f32.const(1e-5)))));
      rv.set(f32x4.splat(s.get()));
      vecThenScalar(f, i, c(0), C, () => {
        tmp.set(f32x4.mul(f32x4.sub(v128.load(at(x.get(), i.get())), mv.get()), rv.get()));
        f.stmt(v128.store(at(y.get(), i.get()), madd(tmp.get(), v128.load(at(weight.get(), i.get())), v128.load(at(bias.get(), i.get())))));
      }, () => {
        d.set(f32.mul(f32.sub(f32.load(at(x.get(), i.get())), m.get()), s.get()));
        f.stmt(f32.store(at(y.get(), i.get()), f32.add(f32.mul(d.get(), f32.load(at(weight.get(), i.get()))), f32.load(at(bias.get(), i.get())))));
      });
      f.stmt(f32.store(at(mean.get(), n.get()), m.get()));
      f.stmt(f32.store(at(rstd.get(), n.get()), s.get()));
    });
  });

  // LayerNorm backward over blocks [begin, end) of LN_BLOCK_ROWS rows:
  // dinp (N,C) += rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dout·w; and block b's
  // partial sums of dweight and dbias (rows Σ dout·x̂, Σ dout) into row b of
  // dwPart, dbPart (blocks, C) — added up in block order by columnSums, so the
  // sums do not depend on how many threads ran the blocks.
  mod.func('layernormBackward', [
    ['dinp', 'i32'], ['dwPart', 'i32'], ['dbPart', 'i32'], ['dout', 'i32'], ['inp', 'i32'], ['weight', 'i32'],
    ['mean', 'i32'], ['rstd', 'i32'], ['N', 'i32'], ['C', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, dinp, dwPart, dbPart, dout, inp, weight, mean, rstd, N, C, begin, end) => {
    const blk = f.local('i32', 'blk');
    const nEnd = f.local('i32', 'nEnd');
    const dweight = f.local('i32', 'dweight');
    const dbias = f.local('i32', 'dbias');
    const n = f.local('i32', 'n');
    const i = f.local('i32', 'i');
    const x = f.local('i32', 'x');
    const dy = f.local('i32', 'dy');
    const dx = f.local('i32', 'dx');
    const mv = f.local('v128', 'mv');
    const sv = f.local('v128', 'sv');
    const xh = f.local('v128', 'xh');
    const g = f.local('v128', 'g');
    const d = f.local('v128', 'd');
    const gm = f.local('v128', 'gm');
    const gxm = f.local('v128', 'gxm');
    const tmp = f.local('v128', 'tmp');
    const m = f.local('f32', 'm');
    const s = f.local('f32', 's');
    const gMean = f.local('f32', 'gMean');
    const gxMean = f.local('f32', 'gxMean');
    const xs = f.local('f32', 'xs');
    const gs = f.local('f32', 'gs');
    const ds = f.local('f32', 'ds');
    const Cf = f.local('f32', 'Cf');
    Cf.set(f32.convert_i32_s(C.get()));
    f.forUp(blk, begin.get(), end.get(), 1, () => {
      dweight.set(at(dwPart.get(), mul(blk.get(), C.get())));
      dbias.set(at(dbPart.get(), mul(blk.get(), C.get())));
      f.forUp(i, c(0), C.get(), 1, () => {
        f.stmt(f32.store(at(dweight.get(), i.get()), f32.const(0)));
        f.stmt(f32.store(at(dbias.get(), i.get()), f32.const(0)));
      });
      nEnd.set(i32.min_s(N.get(), mul(add(blk.get(), c(1)), c(LN_BLOCK_ROWS))));
      f.forUp(n, mul(blk.get(), c(LN_BLOCK_ROWS)), nEnd.get(), 1, () => {
        x.set(at(inp.get(), mul(n.get(), C.get())));
        dy.set(at(dout.get(), mul(n.get(), C.get())));
        dx.set(at(dinp.get(), mul(n.get(), C.get())));
        m.set(f32.load(at(mean.get(), n.get())));
        s.set(f32.load(at(rstd.get(), n.get())));
        mv.set(f32x4.splat(m.get()));
        sv.set(f32x4.splat(s.get()));
        gm.set(kf(f, 0));
        gxm.set(kf(f, 0));
        gMean.set(f32.const(0));
        gxMean.set(f32.const(0));
        vecThenScalar(f, i, c(0), C, () => {
          xh.set(f32x4.mul(f32x4.sub(v128.load(at(x.get(), i.get())), mv.get()), sv.get()));
          g.set(f32x4.mul(v128.load(at(dy.get(), i.get())), v128.load(at(weight.get(), i.get()))));
          gm.set(f32x4.add(gm.get(), g.get()));
          gxm.set(madd(g.get(), xh.get(), gxm.get()));
        }, () => {
          xs.set(f32.mul(f32.sub(f32.load(at(x.get(), i.get())), m.get()), s.get()));
          gs.set(f32.mul(f32.load(at(dy.get(), i.get())), f32.load(at(weight.get(), i.get()))));
          gMean.set(f32.add(gMean.get(), gs.get()));
          gxMean.set(f32.add(gxMean.get(), f32.mul(gs.get(), xs.get())));
        });
        gMean.set(f32.div(f32.add(hsum(gm.get(), tmp), gMean.get()), Cf.get()));
        gxMean.set(f32.div(f32.add(hsum(gxm.get(), tmp), gxMean.get()), Cf.get()));
        gm.set(f32x4.splat(gMean.get()));
        gxm.set(f32x4.splat(gxMean.get()));
        vecThenScalar(f, i, c(0), C, () => {
          xh.set(f32x4.mul(f32x4.sub(v128.load(at(x.get(), i.get())), mv.get()), sv.get()));
          d.set(v128.load(at(dy.get(), i.get())));
          f.stmt(v128.store(at(dbias.get(), i.get()), f32x4.add(v128.load(at(dbias.get(), i.get())), d.get())));
          f.stmt(v128.store(at(dweight.get(), i.get()), madd(d.get(), xh.get(), v128.load(at(dweight.get(), i.get())))));
          tmp.set(f32x4.sub(f32x4.sub(f32x4.mul(d.get(), v128.load(at(weight.get(), i.get()))), gm.get()), f32x4.mul(xh.get(), gxm.get())));
          f.stmt(v128.store(at(dx.get(), i.get()), madd(sv.get(), tmp.get(), v128.load(at(dx.get(), i.get())))));
        }, () => {
          xs.set(f32.mul(f32.sub(f32.load(at(x.get(), i.get())), m.get()), s.get()));
          ds.set(f32.load(at(dy.get(), i.get())));
          f.stmt(f32.store(at(dbias.get(), i.get()), f32.add(f32.load(at(dbias.get(), i.get())), ds.get())));
          f.stmt(f32.store(at(dweight.get(), i.get()), f32.add(f32.load(at(dweight.get(), i.get())), f32.mul(ds.get(), xs.get()))));
          gs.set(f32.sub(f32.sub(f32.mul(ds.get(), f32.load(at(weight.get(), i.get()))), gMean.get()), f32.mul(xs.get(), gxMean.get())));
          f.stmt(f32.store(at(dx.get(), i.get()), f32.add(f32.load(at(dx.get(), i.get())), f32.mul(s.get(), gs.get()))));
        });
      });
    });
  });

  // -------------------------------------------------------------------------
  // GELU (tanh form) as x·σ(2u), u = √(2/π)(x + 0.044715x³), since ½(1 + tanh u) = σ(2u).
  // Elements [begin, end) (a multiple of 4 apart, except at the array's end: the arrays are padded to 16 bytes).
  const GELU_K = Math.sqrt(2 / Math.PI);
  mod.func('geluForward', [['out', 'i32'], ['inp', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32']], [],
    (f, out, inp, begin, end) => {
      const i = f.local('i32', 'i');
      const x = f.local('v128', 'x');
      const t = expTemps(f);
      const e = f.local('v128', 'e');
      f.forUp(i, begin.get(), end.get(), 4, () => {
        x.set(v128.load(at(inp.get(), i.get())));
        // −2u = −2K·x·(1 + 0.044715x²)
        const minus2u = f32x4.mul(f32x4.mul(x.get(), kf(f, -2 * GELU_K)),
          madd(f32x4.mul(x.get(), x.get()), kf(f, 0.044715), kf(f, 1)));
        e.set(expInto(f, minus2u, t));
        f.stmt(v128.store(at(out.get(), i.get()), f32x4.div(x.get(), f32x4.add(kf(f, 1), e.get()))));
      });
    });

  // dinp = gelu'(inp)·dout (overwrites), with s = σ(2u): gelu' = s + 2x·s(1−s)·K(1 + 3·0.044715x²).
  mod.func('geluBackward', [['dinp', 'i32'], ['inp', 'i32'], ['dout', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32']], [],
    (f, dinp, inp, dout, begin, end) => {
      const i = f.local('i32', 'i');
      const x = f.local('v128', 'x');
      const x2 = f.local('v128', 'x2');
      const s = f.local('v128', 's');
      const t = expTemps(f);
      f.forUp(i, begin.get(), end.get(), 4, () => {
        x.set(v128.load(at(inp.get(), i.get())));
        x2.set(f32x4.mul(x.get(), x.get()));
        const minus2u = f32x4.mul(f32x4.mul(x.get(), kf(f, -2 * GELU_K)), madd(x2.get(), kf(f, 0.044715), kf(f, 1)));
        s.set(f32x4.div(kf(f, 1), f32x4.add(kf(f, 1), expInto(f, minus2u, t))));
        const slope = f32x4.mul(f32x4.mul(f32x4.mul(x.get(), kf(f, 2 * GELU_K)), f32x4.mul(s.get(), f32x4.sub(kf(f, 1), s.get()))),
          madd(x2.get(), kf(f, 3 * 0.044715), kf(f, 1)));
        f.stmt(v128.store(at(dinp.get(), i.get()), f32x4.mul(f32x4.add(s.get(), slope), v128.load(at(dout.get(), i.get())))));
      });
    });

  // -------------------------------------------------------------------------
  // Rows of softmax and their masks. `len` valid entries of a row padded to a
  // multiple of 4; the lanes past len of the last vector are masked, so a
  // row's result depends on its valid entries and len only.

  /** A mask vector: lane l is all ones when i + l < len. */
  const laneMask = (f: FunctionBuilder, i: Expr, len: Expr): Expr =>
    i32x4.gt_s(i32x4.splat(len), i32x4.add(i32x4.splat(i), ki(f, [0, 1, 2, 3])));

  /**
   * Attention's softmax over one row in place: p = softmax(scale·s) over the
   * first len entries, zeros after them up to `width` (a multiple of 4).
   */
  const softmaxRow = mod.func('softmaxRow', [['row', 'i32'], ['len', 'i32'], ['width', 'i32'], ['scale', 'f32']], [],
    (f, row, len, width, scale) => {
      const i = f.local('i32', 'i');
      const mask = f.local('v128', 'mask');
      const x = f.local('v128', 'x');
      const mx = f.local('v128', 'mx');
      const sum = f.local('v128', 'sum');
      const tmp = f.local('v128', 'tmp');
      const sc = f.local('v128', 'sc');
      const t = expTemps(f);
      const lenUp = f.local('i32', 'lenUp');
      const ninf = kf(f, -Infinity);
      sc.set(f32x4.splat(scale.get()));
      lenUp.set(i32.and(add(len.get(), c(3)), c(~3)));
      mx.set(ninf);
      f.forUp(i, c(0), lenUp.get(), 4, () => {
        x.set(f32x4.mul(v128.load(at(row.get(), i.get())), sc.get()));
        mask.set(laneMask(f, i.get(), len.get()));
        x.set(v128.bitselect(x.get(), ninf, mask.get()));
        f.stmt(v128.store(at(row.get(), i.get()), x.get()));
        mx.set(f32x4.pmax(mx.get(), x.get()));
      });
      // max over lanes
      mx.set(f32x4.pmax(mx.get(), shuffle32(mx.get(), mx.get(), [2, 3, 0, 1])));
      mx.set(f32x4.pmax(mx.get(), shuffle32(mx.get(), mx.get(), [1, 0, 3, 2])));
      sum.set(kf(f, 0));
      f.forUp(i, c(0), lenUp.get(), 4, () => {
        mask.set(laneMask(f, i.get(), len.get()));
        x.set(v128.bitselect(expInto(f, f32x4.sub(v128.load(at(row.get(), i.get())), mx.get()), t), kf(f, 0), mask.get()));
        f.stmt(v128.store(at(row.get(), i.get()), x.get()));
        sum.set(f32x4.add(sum.get(), x.get()));
      });
      sc.set(f32x4.splat(f32.div(f32.const(1), hsum(sum.get(), tmp))));
      f.forUp(i, c(0), lenUp.get(), 4, () => {
        f.stmt(v128.store(at(row.get(), i.get()), f32x4.mul(v128.load(at(row.get(), i.get())), sc.get())));
      });
      f.forUp(i, lenUp.get(), width.get(), 4, () => f.stmt(v128.store(at(row.get(), i.get()), kf(f, 0))));
    }, false);

  // -------------------------------------------------------------------------
  // Attention, one task per (b, h) in [begin, end), through gemm on packed,
  // zero-padded per-head copies in the thread's scratch (zero padding adds
  // exact zeros to every sum, so hsp > hs changes no bit).

  /** Copy head h's (T,hs) slice of a (…,ld) array at column col into dst (T, hsp), zero-padded (vector copies when hs = hsp). */
  const packHead = mod.func('packHead', [['dst', 'i32'], ['src', 'i32'], ['ld', 'i32'], ['T', 'i32'], ['hs', 'i32'], ['hsp', 'i32']], [],
    (f, dst, src, ld, T, hs, hsp) => {
      const t = f.local('i32', 't');
      const i = f.local('i32', 'i');
      f.if(i32.eq(hs.get(), hsp.get()), () => {
        f.forUp(t, c(0), T.get(), 1, () => {
          f.forUp(i, c(0), hs.get(), 4, () => f.stmt(v128.store(at(dst.get(), add(mul(t.get(), hsp.get()), i.get())),
            v128.load(at(src.get(), add(mul(t.get(), ld.get()), i.get()))))));
        });
        f.ret();
      });
      f.forUp(t, c(0), T.get(), 1, () => {
        f.forUp(i, c(0), hs.get(), 1, () => f.stmt(f32.store(at(dst.get(), add(mul(t.get(), hsp.get()), i.get())),
          f32.load(at(src.get(), add(mul(t.get(), ld.get()), i.get()))))));
        f.forUp(i, hs.get(), hsp.get(), 1, () => f.stmt(f32.store(at(dst.get(), add(mul(t.get(), hsp.get()), i.get())), f32.const(0))));
      });
    }, false);

  /** The same slice transposed: dst (hsp, Tp), rows ≥ hs zero. */
  const packHeadT = mod.func('packHeadT', [['dst', 'i32'], ['src', 'i32'], ['ld', 'i32'], ['T', 'i32'], ['hs', 'i32'], ['hsp', 'i32'], ['Tp', 'i32']], [],
    (f, dst, src, ld, T, hs, hsp, Tp) => {
      const t = f.local('i32', 't');
      const i = f.local('i32', 'i');
      f.forUp(t, c(0), T.get(), 1, () => {
        f.forUp(i, c(0), hs.get(), 1, () => f.stmt(f32.store(at(dst.get(), add(mul(i.get(), Tp.get()), t.get())),
          f32.load(at(src.get(), add(mul(t.get(), ld.get()), i.get()))))));
      });
      f.forUp(i, mul(hs.get(), Tp.get()), mul(hsp.get(), Tp.get()), 1, () => f.stmt(f32.store(at(dst.get(), i.get()), f32.const(0))));
    }, false);

  /** dst (T,…,ld) columns [0, hs) ← src (T, hsp) (vector copies when hs = hsp). */
  const unpackHead = mod.func('unpackHead', [['dst', 'i32'], ['ld', 'i32'], ['src', 'i32'], ['T', 'i32'], ['hs', 'i32'], ['hsp', 'i32']], [],
    (f, dst, ld, src, T, hs, hsp) => {
      const t = f.local('i32', 't');
      const i = f.local('i32', 'i');
      f.if(i32.eq(hs.get(), hsp.get()), () => {
        f.forUp(t, c(0), T.get(), 1, () => {
          f.forUp(i, c(0), hs.get(), 4, () => f.stmt(v128.store(at(dst.get(), add(mul(t.get(), ld.get()), i.get())),
            v128.load(at(src.get(), add(mul(t.get(), hsp.get()), i.get()))))));
        });
        f.ret();
      });
      f.forUp(t, c(0), T.get(), 1, () => {
        f.forUp(i, c(0), hs.get(), 1, () => f.stmt(f32.store(at(dst.get(), add(mul(t.get(), ld.get()), i.get())),
          f32.load(at(src.get(), add(mul(t.get(), hsp.get()), i.get()))))));
      });
    }, false);

  /** gemm on one thread over all M rows. */
  const gemmAll = (out: Expr, ldo: Expr, a: Expr, sAm: Expr, sAk: Expr, b: Expr, ldb: Expr, M: Expr, N: Expr, K: Expr, flags: number) =>
    call(gemm, out, ldo, a, sAm, sAk, b, ldb, M, N, K, c(0), c(flags), c(0), c(0), c(0), M, c(0));

  // out (B,T,C), att (B,NH,T,Tp) ← qkv (B,T,3C): att = causal softmax(q·kᵀ/√hs), out = att·v.
  mod.func('attentionForward', [
    ['out', 'i32'], ['att', 'i32'], ['qkv', 'i32'], ['T', 'i32'], ['C', 'i32'], ['NH', 'i32'], ['scratch', 'i32'], ['scratchBytes', 'i32'],
    ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, out, att, qkv, T, C, NH, scratch, scratchBytes, begin, end, tid) => {
    const task = f.local('i32', 'task');
    const b = f.local('i32', 'b');
    const h = f.local('i32', 'h');
    const hs = f.local('i32', 'hs');
    const hsp = f.local('i32', 'hsp');
    const Tp = f.local('i32', 'Tp');
    const q = f.local('i32', 'q');
    const kT = f.local('i32', 'kT');
    const vv = f.local('i32', 'vv');
    const o = f.local('i32', 'o');
    const src = f.local('i32', 'src');
    const P = f.local('i32', 'P');
    const t = f.local('i32', 't');
    const scale = f.local('f32', 'scale');
    hs.set(i32.div_s(C.get(), NH.get()));
    hsp.set(i32.and(add(hs.get(), c(3)), c(~3)));
    Tp.set(i32.and(add(T.get(), c(3)), c(~3)));
    scale.set(f32.div(f32.const(1), f32.sqrt(f32.convert_i32_s(hs.get()))));
    q.set(add(scratch.get(), mul(tid.get(), scratchBytes.get())));
    kT.set(at(q.get(), mul(T.get(), hsp.get())));
    vv.set(at(kT.get(), mul(hsp.get(), Tp.get())));
    o.set(at(vv.get(), mul(T.get(), hsp.get())));
    f.forUp(task, begin.get(), end.get(), 1, () => {
      b.set(i32.div_s(task.get(), NH.get()));
      h.set(i32.rem_s(task.get(), NH.get()));
      src.set(at(qkv.get(), add(mul(mul(b.get(), T.get()), mul(C.get(), c(3))), mul(h.get(), hs.get()))));
      f.stmt(call(packHead, q.get(), src.get(), mul(C.get(), c(3)), T.get(), hs.get(), hsp.get()));
      f.stmt(call(packHeadT, kT.get(), at(src.get(), C.get()), mul(C.get(), c(3)), T.get(), hs.get(), hsp.get(), Tp.get()));
      f.stmt(call(packHead, vv.get(), at(src.get(), mul(C.get(), c(2))), mul(C.get(), c(3)), T.get(), hs.get(), hsp.get()));
      P.set(at(att.get(), mul(mul(task.get(), T.get()), Tp.get())));
      f.stmt(gemmAll(P.get(), Tp.get(), q.get(), hsp.get(), c(1), kT.get(), Tp.get(), T.get(), T.get(), hsp.get(), GEMM.CAUSAL_N));
      f.forUp(t, c(0), T.get(), 1, () => f.stmt(call(softmaxRow, at(P.get(), mul(t.get(), Tp.get())), add(t.get(), c(1)), Tp.get(), scale.get())));
      f.stmt(gemmAll(o.get(), hsp.get(), P.get(), Tp.get(), c(1), vv.get(), hsp.get(), T.get(), hsp.get(), T.get(), GEMM.CAUSAL_K_UPPER));
      f.stmt(call(unpackHead, at(out.get(), add(mul(mul(b.get(), T.get()), C.get()), mul(h.get(), hs.get()))), C.get(), o.get(), T.get(), hs.get(), hsp.get()));
    });
  });

  // dqkv (B,T,3C) = the gradient (overwrites) from dout (B,T,C), att, qkv.
  // dP = dO·vᵀ; dS = P ⊙ (dP − Σ P⊙dP)·scale; dq = dS·k; dk = dSᵀ·q; dv = Pᵀ·dO.
  mod.func('attentionBackward', [
    ['dqkv', 'i32'], ['dout', 'i32'], ['qkv', 'i32'], ['att', 'i32'], ['T', 'i32'], ['C', 'i32'], ['NH', 'i32'],
    ['scratch', 'i32'], ['scratchBytes', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, dqkv, dout, qkv, att, T, C, NH, scratch, scratchBytes, begin, end, tid) => {
    const task = f.local('i32', 'task');
    const b = f.local('i32', 'b');
    const h = f.local('i32', 'h');
    const hs = f.local('i32', 'hs');
    const hsp = f.local('i32', 'hsp');
    const Tp = f.local('i32', 'Tp');
    const q = f.local('i32', 'q');
    const k = f.local('i32', 'k');
    const vT = f.local('i32', 'vT');
    const dO = f.local('i32', 'dO');
    const dq = f.local('i32', 'dq');
    const dk = f.local('i32', 'dk');
    const dv = f.local('i32', 'dv');
    const dP = f.local('i32', 'dP');
    const P = f.local('i32', 'P');
    const src = f.local('i32', 'src');
    const dst = f.local('i32', 'dst');
    const t = f.local('i32', 't');
    const i = f.local('i32', 'i');
    const len = f.local('i32', 'len');
    const lenUp = f.local('i32', 'lenUp');
    const prow = f.local('i32', 'prow');
    const drow = f.local('i32', 'drow');
    const mask = f.local('v128', 'mask');
    const pv = f.local('v128', 'pv');
    const dotv = f.local('v128', 'dotv');
    const tmp = f.local('v128', 'tmp');
    const sc = f.local('v128', 'sc');
    const scale = f.local('f32', 'scale');
    hs.set(i32.div_s(C.get(), NH.get()));
    hsp.set(i32.and(add(hs.get(), c(3)), c(~3)));
    Tp.set(i32.and(add(T.get(), c(3)), c(~3)));
    scale.set(f32.div(f32.const(1), f32.sqrt(f32.convert_i32_s(hs.get()))));
    sc.set(f32x4.splat(scale.get()));
    q.set(add(scratch.get(), mul(tid.get(), scratchBytes.get())));
    k.set(at(q.get(), mul(T.get(), hsp.get())));
    dO.set(at(k.get(), mul(T.get(), hsp.get())));
    dq.set(at(dO.get(), mul(T.get(), hsp.get())));
    dk.set(at(dq.get(), mul(T.get(), hsp.get())));
    dv.set(at(dk.get(), mul(T.get(), hsp.get())));
    vT.set(at(dv.get(), mul(T.get(), hsp.get())));
    dP.set(at(vT.get(), mul(hsp.get(), Tp.get())));
    f.forUp(task, begin.get(), end.get(), 1, () => {
      b.set(i32.div_s(task.get(), NH.get()));
      h.set(i32.rem_s(task.get(), NH.get()));
      src.set(at(qkv.get(), add(mul(mul(b.get(), T.get()), mul(C.get(), c(3))), mul(h.get(), hs.get()))));
      f.stmt(call(packHead, q.get(), src.get(), mul(C.get(), c(3)), T.get(), hs.get(), hsp.get()));
      f.stmt(call(packHead, k.get(), at(src.get(), C.get()), mul(C.get(), c(3)), T.get(), hs.get(), hsp.get()));
      f.stmt(call(packHeadT, vT.get(), at(src.get(), mul(C.get(), c(2))), mul(C.get(), c(3)), T.get(), hs.get(), hsp.get(), Tp.get()));
      f.stmt(call(packHead, dO.get(), at(dout.get(), add(mul(mul(b.get(), T.get()), C.get()), mul(h.get(), hs.get()))), C.get(), T.get(), hs.get(), hsp.get()));
      P.set(at(att.get(), mul(mul(task.get(), T.get()), Tp.get())));
      // dP (T,Tp) = dO · vᵀ, causal
      f.stmt(gemmAll(dP.get(), Tp.get(), dO.get(), hsp.get(), c(1), vT.get(), Tp.get(), T.get(), T.get(), hsp.get(), GEMM.CAUSAL_N));
      // dS in place of dP, row by row; entries past t are set to 0
      f.forUp(t, c(0), T.get(), 1, () => {
        prow.set(at(P.get(), mul(t.get(), Tp.get())));
        drow.set(at(dP.get(), mul(t.get(), Tp.get())));
        len.set(add(t.get(), c(1)));
        lenUp.set(i32.and(add(len.get(), c(3)), c(~3)));
        dotv.set(kf(f, 0));
        f.forUp(i, c(0), lenUp.get(), 4, () => {
          mask.set(laneMask(f, i.get(), len.get()));
          tmp.set(v128.bitselect(v128.load(at(drow.get(), i.get())), kf(f, 0), mask.get()));
          f.stmt(v128.store(at(drow.get(), i.get()), tmp.get()));
          dotv.set(madd(v128.load(at(prow.get(), i.get())), tmp.get(), dotv.get()));
        });
        dotv.set(f32x4.splat(hsum(dotv.get(), tmp)));
        f.forUp(i, c(0), lenUp.get(), 4, () => {
          pv.set(v128.load(at(prow.get(), i.get())));
          f.stmt(v128.store(at(drow.get(), i.get()),
            f32x4.mul(f32x4.mul(pv.get(), f32x4.sub(v128.load(at(drow.get(), i.get())), dotv.get())), sc.get())));
        });
        f.forUp(i, lenUp.get(), Tp.get(), 4, () => f.stmt(v128.store(at(drow.get(), i.get()), kf(f, 0))));
      });
      // dq = dS·k (k ≤ t), dk = dSᵀ·q (t ≥ row), dv = Pᵀ·dO (t ≥ row)
      f.stmt(gemmAll(dq.get(), hsp.get(), dP.get(), Tp.get(), c(1), k.get(), hsp.get(), T.get(), hsp.get(), T.get(), GEMM.CAUSAL_K_UPPER));
      f.stmt(gemmAll(dk.get(), hsp.get(), dP.get(), c(1), Tp.get(), q.get(), hsp.get(), T.get(), hsp.get(), T.get(), GEMM.CAUSAL_K_LOWER));
      f.stmt(gemmAll(dv.get(), hsp.get(), P.get(), c(1), Tp.get(), dO.get(), hsp.get(), T.get(), hsp.get(), T.get(), GEMM.CAUSAL_K_LOWER));
      dst.set(at(dqkv.get(), add(mul(mul(b.get(), T.get()), mul(C.get(), c(3))), mul(h.get(), hs.get()))));
      f.stmt(call(unpackHead, dst.get(), mul(C.get(), c(3)), dq.get(), T.get(), hs.get(), hsp.get()));
      f.stmt(call(unpackHead, at(dst.get(), C.get()), mul(C.get(), c(3)), dk.get(), T.get(), hs.get(), hsp.get()));
      f.stmt(call(unpackHead, at(dst.get(), mul(C.get(), c(2))), mul(C.get(), c(3)), dv.get(), T.get(), hs.get(), hsp.get()));
    });
  });

  // The decoder's attention for ONE new position per row m in [begin, end),
  // against caches kT (R,NH,hsp,maxT) and v (R,NH,maxT,hsp) of cache rows
  // rows[m], attending to positions 0…positions[m]; q from qkv (M,3C),
  // out (M,C). The same gemm and softmax calls as attentionForward's row,
  // so the same bits.
  mod.func('attentionDecode', [
    ['out', 'i32'], ['qkv', 'i32'], ['kT', 'i32'], ['vc', 'i32'], ['rows', 'i32'], ['positions', 'i32'], ['maxT', 'i32'],
    ['C', 'i32'], ['NH', 'i32'], ['scratch', 'i32'], ['scratchBytes', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, out, qkv, kT, vc, rows, positions, maxT, C, NH, scratch, scratchBytes, begin, end, tid) => {
    const m = f.local('i32', 'm');
    const h = f.local('i32', 'h');
    const hs = f.local('i32', 'hs');
    const hsp = f.local('i32', 'hsp');
    const Tp = f.local('i32', 'Tp');
    const q = f.local('i32', 'q');
    const P = f.local('i32', 'P');
    const o = f.local('i32', 'o');
    const len = f.local('i32', 'len');
    const head = f.local('i32', 'head');
    const scale = f.local('f32', 'scale');
    hs.set(i32.div_s(C.get(), NH.get()));
    hsp.set(i32.and(add(hs.get(), c(3)), c(~3)));
    Tp.set(i32.and(add(maxT.get(), c(3)), c(~3)));
    scale.set(f32.div(f32.const(1), f32.sqrt(f32.convert_i32_s(hs.get()))));
    q.set(add(scratch.get(), mul(tid.get(), scratchBytes.get())));
    P.set(at(q.get(), hsp.get()));
    o.set(at(P.get(), Tp.get()));
    f.forUp(m, begin.get(), end.get(), 1, () => {
      len.set(add(i32.load(at(positions.get(), m.get())), c(1)));
      f.forUp(h, c(0), NH.get(), 1, () => {
        head.set(add(mul(i32.load(at(rows.get(), m.get())), NH.get()), h.get()));
        f.stmt(call(packHead, q.get(), at(qkv.get(), add(mul(m.get(), mul(C.get(), c(3))), mul(h.get(), hs.get()))), c(0), c(1), hs.get(), hsp.get()));
        f.stmt(gemmAll(P.get(), Tp.get(), q.get(), hsp.get(), c(1), at(kT.get(), mul(mul(head.get(), hsp.get()), maxT.get())), maxT.get(),
          c(1), len.get(), hsp.get(), 0));
        f.stmt(call(softmaxRow, P.get(), len.get(), Tp.get(), scale.get()));
        f.stmt(gemmAll(o.get(), hsp.get(), P.get(), Tp.get(), c(1), at(vc.get(), mul(mul(head.get(), maxT.get()), hsp.get())), hsp.get(),
          c(1), hsp.get(), len.get(), 0));
        f.stmt(call(unpackHead, at(out.get(), add(mul(m.get(), C.get()), mul(h.get(), hs.get()))), c(0), o.get(), c(1), hs.get(), hsp.get()));
      });
    });
  });

  // -------------------------------------------------------------------------
  // Weighted cross-entropy, rows [begin, end) of logits (N, Vp) (row stride Vp, V valid):
  // ce[n] = log Σ exp(l − max) + max − l[target]; when dlogits ≠ 0 also
  // dlogits[n] = w·(softmax(l) − onehot(target)) (overwrites; zeros where w = 0).
  mod.func('crossEntropy', [
    ['ce', 'i32'], ['dlogits', 'i32'], ['logits', 'i32'], ['targets', 'i32'], ['weights', 'i32'], ['V', 'i32'], ['Vp', 'i32'],
    ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, ce, dlogits, logits, targets, weights, V, Vp, begin, end) => {
    const n = f.local('i32', 'n');
    const i = f.local('i32', 'i');
    const row = f.local('i32', 'row');
    const drow = f.local('i32', 'drow');
    const mask = f.local('v128', 'mask');
    const mx = f.local('v128', 'mx');
    const sum = f.local('v128', 'sum');
    const tmp = f.local('v128', 'tmp');
    const wv = f.local('v128', 'wv');
    const t = expTemps(f);
    const maxs = f.local('f32', 'max');
    const s = f.local('f32', 's');
    const w = f.local('f32', 'w');
    const target = f.local('i32', 'target');
    const ninf = kf(f, -Infinity);
    f.forUp(n, begin.get(), end.get(), 1, () => {
      row.set(at(logits.get(), mul(n.get(), Vp.get())));
      mx.set(ninf);
      f.forUp(i, c(0), V.get(), 4, () => {
        mask.set(laneMask(f, i.get(), V.get()));
        mx.set(f32x4.pmax(mx.get(), v128.bitselect(v128.load(at(row.get(), i.get())), ninf, mask.get())));
      });
      mx.set(f32x4.pmax(mx.get(), shuffle32(mx.get(), mx.get(), [2, 3, 0, 1])));
      mx.set(f32x4.pmax(mx.get(), shuffle32(mx.get(), mx.get(), [1, 0, 3, 2])));
      maxs.set(f32x4.extract_lane(mx.get(), 0));
      sum.set(kf(f, 0));
      f.forUp(i, c(0), V.get(), 4, () => {
        mask.set(laneMask(f, i.get(), V.get()));
        sum.set(f32x4.add(sum.get(), v128.bitselect(expInto(f, f32x4.sub(v128.load(at(row.get(), i.get())), mx.get()), t), kf(f, 0), mask.get())));
      });
      s.set(hsum(sum.get(), tmp));
      target.set(i32.load(at(targets.get(), n.get())));
      f.stmt(f32.store(at(ce.get(), n.get()), f32.sub(f32.add(f32.demote_f64(call(log, f64.promote_f32(s.get()))), maxs.get()),
        f32.load(at(row.get(), target.get())))));
      f.if(dlogits.get(), () => {
        drow.set(at(dlogits.get(), mul(n.get(), Vp.get())));
        w.set(f32.load(at(weights.get(), n.get())));
        wv.set(f32x4.splat(f32.div(w.get(), s.get())));
        f.if(f32.eq(w.get(), f32.const(0)), () => {
          f.forUp(i, c(0), V.get(), 4, () => f.stmt(v128.store(at(drow.get(), i.get()), kf(f, 0))));
        }, () => {
          f.forUp(i, c(0), V.get(), 4, () => {
            f.stmt(v128.store(at(drow.get(), i.get()),
              f32x4.mul(expInto(f, f32x4.sub(v128.load(at(row.get(), i.get())), mx.get()), t), wv.get())));
          });
          f.stmt(f32.store(at(drow.get(), target.get()), f32.sub(f32.load(at(drow.get(), target.get())), w.get())));
        });
      });
    });
  });

  // -------------------------------------------------------------------------
  // AdamW on elements [begin, end) (see optim.ts): g ← g·gradScale;
  // m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p·decay − lr·(m/bc1)/(√(v/bc2) + ε).
  mod.func('adamw', [
    ['p', 'i32'], ['g', 'i32'], ['m', 'i32'], ['v', 'i32'], ['lr', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'],
    ['bc1', 'f32'], ['bc2', 'f32'], ['eps', 'f32'], ['decay', 'f32'], ['gradScale', 'f32'],
    ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, p, g, m, v, lr, beta1, beta2, bc1, bc2, eps, decay, gradScale, begin, end) => {
    const i = f.local('i32', 'i');
    const gv = f.local('v128', 'gv');
    const mv = f.local('v128', 'mv');
    const vv = f.local('v128', 'vv');
    const splat = (x: Local) => {
      const l = f.local('v128', `${x.name}4`);
      l.set(f32x4.splat(x.get()));
      return l;
    };
    const [b1, b2, eps4, dec4, gs4] = [beta1, beta2, eps, decay, gradScale].map(splat) as [Local, Local, Local, Local, Local];
    const omb1 = f.local('v128', 'omb1');
    const omb2 = f.local('v128', 'omb2');
    omb1.set(f32x4.splat(f32.sub(f32.const(1), beta1.get())));
    omb2.set(f32x4.splat(f32.sub(f32.const(1), beta2.get())));
    const lrOverBc1 = f.local('v128', 'lrOverBc1');
    lrOverBc1.set(f32x4.splat(f32.div(lr.get(), bc1.get())));
    const invBc2 = f.local('v128', 'invBc2');
    invBc2.set(f32x4.splat(f32.div(f32.const(1), bc2.get())));
    const step = (width: 4 | 1) => {
      const ld = (base: Local) => (width === 4 ? v128.load(at(base.get(), i.get())) : f32x4.splat(f32.load(at(base.get(), i.get()))));
      const st = (base: Local, val: Expr) => f.stmt(width === 4 ? v128.store(at(base.get(), i.get()), val)
        : v128.store32_lane(at(base.get(), i.get()), val, 0));
      gv.set(f32x4.mul(ld(g), gs4.get()));
      mv.set(f32x4.add(f32x4.mul(b1.get(), ld(m)), f32x4.mul(omb1.get(), gv.get())));
      vv.set(f32x4.add(f32x4.mul(b2.get(), ld(v)), f32x4.mul(f32x4.mul(omb2.get(), gv.get()), gv.get())));
      st(m, mv.get());
      st(v, vv.get());
      st(p, f32x4.sub(f32x4.mul(ld(p), dec4.get()), f32x4.div(f32x4.mul(lrOverBc1.get(), mv.get()),
        f32x4.add(f32x4.sqrt(f32x4.mul(vv.get(), invBc2.get())), eps4.get()))));
    };
    const end4 = f.local('i32', 'end4');
    end4.set(i32.sub(end.get(), c(3)));
    f.forUp(i, begin.get(), end4.get(), 4, () => step(4));
    f.forUp(i, i.get(), end.get(), 1, () => step(1));
  });

  // Σ x² over elements [begin, end), in float64 (two f64x2 accumulators, then a scalar tail).
  const sumSquares = mod.func('sumSquares', [['x', 'i32'], ['begin', 'i32'], ['end', 'i32']], ['f64'], (f, x, begin, end) => {
    const i = f.local('i32', 'i');
    const v = f.local('v128', 'v');
    const lo = f.local('v128', 'lo');
    const hi = f.local('v128', 'hi');
    const accLo = f.local('v128', 'accLo');
    const accHi = f.local('v128', 'accHi');
    const s = f.local('f64', 's');
    const e = f.local('i32', 'e');
    e.set(i32.sub(end.get(), c(3)));
    f.forUp(i, begin.get(), e.get(), 4, () => {
      v.set(v128.load(at(x.get(), i.get())));
      lo.set(f64x2.promote_low_f32x4(v.get()));
      hi.set(f64x2.promote_low_f32x4(shuffle32(v.get(), v.get(), [2, 3, 0, 1])));
      accLo.set(f64x2.add(accLo.get(), f64x2.mul(lo.get(), lo.get())));
      accHi.set(f64x2.add(accHi.get(), f64x2.mul(hi.get(), hi.get())));
    });
    accLo.set(f64x2.add(accLo.get(), accHi.get()));
    s.set(f64.add(f64x2.extract_lane(accLo.get(), 0), f64x2.extract_lane(accLo.get(), 1)));
    const xs = f.local('f64', 'xs');
    f.forUp(i, i.get(), end.get(), 1, () => {
      xs.set(f64.promote_f32(f32.load(at(x.get(), i.get()))));
      s.set(f64.add(s.get(), f64.mul(xs.get(), xs.get())));
    });
    f.ret(s.get());
  });

  // out[b] (float64) = Σ x² over block b of SUMSQ_BLOCK elements of x (total elements), blocks [begin, end).
  mod.func('sumSquaresBlocks', [['out', 'i32'], ['x', 'i32'], ['total', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32']], [],
    (f, out, x, total, begin, end) => {
      const b = f.local('i32', 'b');
      f.forUp(b, begin.get(), end.get(), 1, () => {
        f.stmt(f64.store(add(out.get(), i32.shl(b.get(), c(3))), call(sumSquares, x.get(), mul(b.get(), c(SUMSQ_BLOCK)),
          i32.min_s(total.get(), mul(add(b.get(), c(1)), c(SUMSQ_BLOCK))))));
      });
    });

  // dbias (OC) (+)= Σ_n dout (N,OC), columns [begin, end) (multiples of 4 apart except at OC).
  // Rows are walked in order, each adding its slice into out (which stays in L1):
  // every column still sums its rows in ascending order.
  mod.func('columnSums', [
    ['out', 'i32'], ['inp', 'i32'], ['N', 'i32'], ['OC', 'i32'], ['accumulate', 'i32'], ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32'],
  ], [], (f, out, inp, N, OC, accumulate, begin, end) => {
    const col = f.local('i32', 'col');
    const n = f.local('i32', 'n');
    const row = f.local('i32', 'row');
    const end4 = f.local('i32', 'end4');
    const s = f.local('f32', 's');
    end4.set(add(begin.get(), i32.and(i32.sub(end.get(), begin.get()), c(~3))));
    f.if(i32.eqz(accumulate.get()), () => {
      f.forUp(col, begin.get(), end.get(), 1, () => f.stmt(f32.store(at(out.get(), col.get()), kf32(0))));
    });
    f.forUp(n, c(0), N.get(), 1, () => {
      row.set(at(inp.get(), mul(n.get(), OC.get())));
      f.forUp(col, begin.get(), end4.get(), 4, () => {
        f.stmt(v128.store(at(out.get(), col.get()), f32x4.add(v128.load(at(out.get(), col.get())), v128.load(at(row.get(), col.get())))));
      });
      f.forUp(col, end4.get(), end.get(), 1, () => {
        s.set(f32.add(f32.load(at(out.get(), col.get())), f32.load(at(row.get(), col.get()))));
        f.stmt(f32.store(at(out.get(), col.get()), s.get()));
      });
    });
  });

  // out (N,C) = wte[inp[n]] + wpe[position], rows [begin, end); the position
  // is n mod T (a (B,T) batch), or positions[n] when that pointer is not 0 (the decoder).
  // The backward dwte, dwpe += dout runs on one thread (rows scatter into wte).
  mod.func('encoderForward', [['out', 'i32'], ['inp', 'i32'], ['positions', 'i32'], ['wte', 'i32'], ['wpe', 'i32'], ['T', 'i32'], ['C', 'i32'],
    ['begin', 'i32'], ['end', 'i32'], ['tid', 'i32']], [], (f, out, inp, positions, wte, wpe, T, C, begin, end) => {
    const n = f.local('i32', 'n');
    const i = f.local('i32', 'i');
    const o = f.local('i32', 'o');
    const a = f.local('i32', 'a');
    const b = f.local('i32', 'b');
    f.forUp(n, begin.get(), end.get(), 1, () => {
      o.set(at(out.get(), mul(n.get(), C.get())));
      a.set(at(wte.get(), mul(i32.load(at(inp.get(), n.get())), C.get())));
      b.set(at(wpe.get(), mul(select(i32.load(at(positions.get(), n.get())), i32.rem_s(n.get(), T.get()), positions.get()), C.get())));
      f.forUp(i, c(0), C.get(), 1, () => f.stmt(f32.store(at(o.get(), i.get()), f32.add(f32.load(at(a.get(), i.get())), f32.load(at(b.get(), i.get()))))));
    });
  });

  mod.func('encoderBackward', [['dwte', 'i32'], ['dwpe', 'i32'], ['dout', 'i32'], ['inp', 'i32'], ['N', 'i32'], ['T', 'i32'], ['C', 'i32']], [],
    (f, dwte, dwpe, dout, inp, N, T, C) => {
      const n = f.local('i32', 'n');
      const i = f.local('i32', 'i');
      const d = f.local('i32', 'd');
      const a = f.local('i32', 'a');
      const b = f.local('i32', 'b');
      const x = f.local('f32', 'x');
      f.forUp(n, c(0), N.get(), 1, () => {
        d.set(at(dout.get(), mul(n.get(), C.get())));
        a.set(at(dwte.get(), mul(i32.load(at(inp.get(), n.get())), C.get())));
        b.set(at(dwpe.get(), mul(i32.rem_s(n.get(), T.get()), C.get())));
        f.forUp(i, c(0), C.get(), 1, () => {
          x.set(f32.load(at(d.get(), i.get())));
          f.stmt(f32.store(at(a.get(), i.get()), f32.add(f32.load(at(a.get(), i.get())), x.get())));
          f.stmt(f32.store(at(b.get(), i.get()), f32.add(f32.load(at(b.get(), i.get())), x.get())));
        });
      });
    });

  const constants = new Uint8Array(16 * table.length);
  table.forEach((b, i) => constants.set(b, 16 * i));
  return { bytes: mod.toBytes(), constants };
}

