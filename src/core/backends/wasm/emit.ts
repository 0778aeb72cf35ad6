/**
 * A small WebAssembly binary emitter: the CPU engine's kernels
 * (`wasm/kernels.ts`) are written in TypeScript against it and turned into a
 * module at run time, so there is no build step and no committed binary —
 * the same code runs in Node, Vite's dev server, the built app and workers.
 *
 * Kernels are written as expression trees (`i32.add(x.get(), i32.const(4))`)
 * and statements (`x.set(…)`, `f.forUp(…)`, `f.if(…)`) appended to the
 * current function body; every operator checks its operand types, so a kernel
 * with a type error fails when it is built, with the operator named, instead
 * of producing a module that does not validate.
 *
 * Encoding: the WebAssembly core spec 2.0 binary format (sections, LEB128)
 * plus the fixed-width SIMD (0xfd prefix) and relaxed-SIMD opcodes.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

const TYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** An expression: code that leaves one value of `type` on the stack (or none: 'void'). */
export interface Expr {
  readonly type: ValType | 'void';
  emit(out: number[]): void;
}

// ---------------------------------------------------------------------------
// LEB128 and constants

function uleb(out: number[], n: number): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`uleb: ${n} is not a non-negative integer`);
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(out: number[], n: number): void {
  if (!Number.isInteger(n)) throw new Error(`sleb: ${n} is not an integer`);
  for (;;) {
    const byte = n & 0x7f;
    n = Math.floor(n / 128); // arithmetic shift for negative numbers too
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function f32Bytes(out: number[], x: number): void {
  const b = new Uint8Array(new Float32Array([x]).buffer);
  out.push(...b);
}

function f64Bytes(out: number[], x: number): void {
  const b = new Uint8Array(new Float64Array([x]).buffer);
  out.push(...b);
}

function utf8(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  uleb(out, b.length);
  out.push(...b);
}

// ---------------------------------------------------------------------------
// Expression constructors

function expr(type: ValType | 'void', code: (out: number[]) => void): Expr {
  return { type, emit: code };
}

function check(op: string, e: Expr, type: ValType): void {
  if (e.type !== type) throw new Error(`${op}: operand is ${e.type}, expected ${type}`);
}

/** op(a, b) with both operands of `type`, result `result`. */
function binary(op: string, type: ValType, result: ValType, code: number[]) {
  return (a: Expr, b: Expr): Expr => {
    check(op, a, type);
    check(op, b, type);
    return expr(result, (out) => {
      a.emit(out);
      b.emit(out);
      out.push(...code);
    });
  };
}

function unary(op: string, type: ValType, result: ValType, code: number[]) {
  return (a: Expr): Expr => {
    check(op, a, type);
    return expr(result, (out) => {
      a.emit(out);
      out.push(...code);
    });
  };
}

/** A SIMD opcode: the 0xfd prefix and the opcode as unsigned LEB128. */
function simd(op: number): number[] {
  const out = [0xfd];
  uleb(out, op);
  return out;
}

/** memarg: alignment exponent and a constant byte offset. */
function memarg(out: number[], alignLog2: number, offset: number): void {
  uleb(out, alignLog2);
  uleb(out, offset);
}

function load(op: string, code: number[], type: ValType, alignLog2: number) {
  return (addr: Expr, offset = 0): Expr => {
    check(op, addr, 'i32');
    return expr(type, (out) => {
      addr.emit(out);
      out.push(...code);
      memarg(out, alignLog2, offset);
    });
  };
}

function store(op: string, code: number[], type: ValType, alignLog2: number) {
  return (addr: Expr, value: Expr, offset = 0): Expr => {
    check(op, addr, 'i32');
    check(op, value, type);
    return expr('void', (out) => {
      addr.emit(out);
      value.emit(out);
      out.push(...code);
      memarg(out, alignLog2, offset);
    });
  };
}

export const i32 = {
  const: (n: number): Expr => expr('i32', (out) => (out.push(0x41), sleb(out, n | 0))),
  load: load('i32.load', [0x28], 'i32', 2),
  store: store('i32.store', [0x36], 'i32', 2),
  eqz: unary('i32.eqz', 'i32', 'i32', [0x45]),
  eq: binary('i32.eq', 'i32', 'i32', [0x46]),
  ne: binary('i32.ne', 'i32', 'i32', [0x47]),
  lt_s: binary('i32.lt_s', 'i32', 'i32', [0x48]),
  lt_u: binary('i32.lt_u', 'i32', 'i32', [0x49]),
  gt_s: binary('i32.gt_s', 'i32', 'i32', [0x4a]),
  le_s: binary('i32.le_s', 'i32', 'i32', [0x4c]),
  ge_s: binary('i32.ge_s', 'i32', 'i32', [0x4e]),
  add: binary('i32.add', 'i32', 'i32', [0x6a]),
  sub: binary('i32.sub', 'i32', 'i32', [0x6b]),
  mul: binary('i32.mul', 'i32', 'i32', [0x6c]),
  div_s: binary('i32.div_s', 'i32', 'i32', [0x6d]),
  rem_s: binary('i32.rem_s', 'i32', 'i32', [0x6f]),
  and: binary('i32.and', 'i32', 'i32', [0x71]),
  or: binary('i32.or', 'i32', 'i32', [0x72]),
  shl: binary('i32.shl', 'i32', 'i32', [0x74]),
  shr_s: binary('i32.shr_s', 'i32', 'i32', [0x75]),
  shr_u: binary('i32.shr_u', 'i32', 'i32', [0x76]),
  min_s: (a: Expr, b: Expr): Expr => select(a, b, i32.lt_s(a, b)),
  max_s: (a: Expr, b: Expr): Expr => select(a, b, i32.gt_s(a, b)),
  trunc_f32_s: unary('i32.trunc_f32_s', 'f32', 'i32', [0xa8]),
  reinterpret_f32: unary('i32.reinterpret_f32', 'f32', 'i32', [0xbc]),
};

export const f32 = {
  const: (x: number): Expr => expr('f32', (out) => (out.push(0x43), f32Bytes(out, x))),
  load: load('f32.load', [0x2a], 'f32', 2),
  store: store('f32.store', [0x38], 'f32', 2),
  eq: binary('f32.eq', 'f32', 'i32', [0x5b]),
  ne: binary('f32.ne', 'f32', 'i32', [0x5c]),
  lt: binary('f32.lt', 'f32', 'i32', [0x5d]),
  gt: binary('f32.gt', 'f32', 'i32', [0x5e]),
  abs: unary('f32.abs', 'f32', 'f32', [0x8b]),
  neg: unary('f32.neg', 'f32', 'f32', [0x8c]),
  sqrt: unary('f32.sqrt', 'f32', 'f32', [0x91]),
  add: binary('f32.add', 'f32', 'f32', [0x92]),
  sub: binary('f32.sub', 'f32', 'f32', [0x93]),
  mul: binary('f32.mul', 'f32', 'f32', [0x94]),
  div: binary('f32.div', 'f32', 'f32', [0x95]),
  min: binary('f32.min', 'f32', 'f32', [0x96]),
  max: binary('f32.max', 'f32', 'f32', [0x97]),
  convert_i32_s: unary('f32.convert_i32_s', 'i32', 'f32', [0xb2]),
  demote_f64: unary('f32.demote_f64', 'f64', 'f32', [0xb6]),
  reinterpret_i32: unary('f32.reinterpret_i32', 'i32', 'f32', [0xbe]),
};

export const f64 = {
  const: (x: number): Expr => expr('f64', (out) => (out.push(0x44), f64Bytes(out, x))),
  load: load('f64.load', [0x2b], 'f64', 3),
  store: store('f64.store', [0x39], 'f64', 3),
  add: binary('f64.add', 'f64', 'f64', [0xa0]),
  sub: binary('f64.sub', 'f64', 'f64', [0xa1]),
  mul: binary('f64.mul', 'f64', 'f64', [0xa2]),
  div: binary('f64.div', 'f64', 'f64', [0xa3]),
  promote_f32: unary('f64.promote_f32', 'f32', 'f64', [0xbb]),
  convert_i32_s: unary('f64.convert_i32_s', 'i32', 'f64', [0xb7]),
};

/** select(a, b, cond): a when cond ≠ 0, else b (both evaluated). */
export function select(a: Expr, b: Expr, cond: Expr): Expr {
  if (a.type !== b.type || a.type === 'void') throw new Error(`select: operands are ${a.type} and ${b.type}`);
  check('select', cond, 'i32');
  return expr(a.type, (out) => {
    a.emit(out);
    b.emit(out);
    cond.emit(out);
    out.push(0x1b);
  });
}

function lane(op: string, code: number, from: ValType, to: ValType, lanes: number) {
  return (v: Expr, index: number): Expr => {
    check(op, v, from);
    if (!(Number.isInteger(index) && index >= 0 && index < lanes)) throw new Error(`${op}: lane ${index} out of range`);
    return expr(to, (out) => {
      v.emit(out);
      out.push(...simd(code), index);
    });
  };
}

export const v128 = {
  load: load('v128.load', simd(0x00), 'v128', 4),
  /** Loads one f32 (or i32) and broadcasts it to the 4 lanes. */
  load32_splat: load('v128.load32_splat', simd(0x09), 'v128', 2),
  store: store('v128.store', simd(0x0b), 'v128', 4),
  /** Stores lane `index` of v at addr+offset. */
  store32_lane: (addr: Expr, v: Expr, index: number, offset = 0): Expr => {
    check('v128.store32_lane', addr, 'i32');
    check('v128.store32_lane', v, 'v128');
    return expr('void', (out) => {
      addr.emit(out);
      v.emit(out);
      out.push(...simd(0x5a));
      memarg(out, 2, offset);
      out.push(index);
    });
  },
  and: binary('v128.and', 'v128', 'v128', simd(0x4e)),
  or: binary('v128.or', 'v128', 'v128', simd(0x50)),
  xor: binary('v128.xor', 'v128', 'v128', simd(0x51)),
  /** Lanes of a where the mask's bits are 1, of b where 0. */
  bitselect: (a: Expr, b: Expr, mask: Expr): Expr => {
    for (const e of [a, b, mask]) check('v128.bitselect', e, 'v128');
    return expr('v128', (out) => {
      a.emit(out);
      b.emit(out);
      mask.emit(out);
      out.push(...simd(0x52));
    });
  },
  /** i8x16.shuffle with 16 byte indices into the 32 bytes of (a, b). */
  shuffle: (a: Expr, b: Expr, bytes: number[]): Expr => {
    check('i8x16.shuffle', a, 'v128');
    check('i8x16.shuffle', b, 'v128');
    if (bytes.length !== 16 || bytes.some((x) => !(x >= 0 && x < 32))) throw new Error('i8x16.shuffle: 16 indices in [0, 32)');
    return expr('v128', (out) => {
      a.emit(out);
      b.emit(out);
      out.push(...simd(0x0d), ...bytes);
    });
  },
};

/** The f32x4 lane pattern of a shuffle: lanes[i] picks lane 0–3 of a or 4–7 of b. */
export function shuffle32(a: Expr, b: Expr, lanes: [number, number, number, number]): Expr {
  return v128.shuffle(a, b, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
}

export const f32x4 = {
  splat: unary('f32x4.splat', 'f32', 'v128', simd(0x13)),
  /** (x, x, x, x) as a v128.const (its lanes are not computed at run time). */
  const: (x: number): Expr => expr('v128', (out) => {
    out.push(...simd(0x0c));
    for (let i = 0; i < 4; i++) f32Bytes(out, x);
  }),
  extract_lane: lane('f32x4.extract_lane', 0x1f, 'v128', 'f32', 4),
  eq: binary('f32x4.eq', 'v128', 'v128', simd(0x41)),
  lt: binary('f32x4.lt', 'v128', 'v128', simd(0x43)),
  gt: binary('f32x4.gt', 'v128', 'v128', simd(0x44)),
  nearest: unary('f32x4.nearest', 'v128', 'v128', simd(0x6a)),
  abs: unary('f32x4.abs', 'v128', 'v128', simd(0xe0)),
  neg: unary('f32x4.neg', 'v128', 'v128', simd(0xe1)),
  sqrt: unary('f32x4.sqrt', 'v128', 'v128', simd(0xe3)),
  add: binary('f32x4.add', 'v128', 'v128', simd(0xe4)),
  sub: binary('f32x4.sub', 'v128', 'v128', simd(0xe5)),
  mul: binary('f32x4.mul', 'v128', 'v128', simd(0xe6)),
  div: binary('f32x4.div', 'v128', 'v128', simd(0xe7)),
  min: binary('f32x4.min', 'v128', 'v128', simd(0xe8)),
  max: binary('f32x4.max', 'v128', 'v128', simd(0xe9)),
  /** b < a ? b : a — one minps on x86 (min's NaN and ±0 rules cost ~8 instructions). */
  pmin: binary('f32x4.pmin', 'v128', 'v128', simd(0xea)),
  /** a < b ? b : a — one maxps. */
  pmax: binary('f32x4.pmax', 'v128', 'v128', simd(0xeb)),
  convert_i32x4_s: unary('f32x4.convert_i32x4_s', 'v128', 'v128', simd(0xfa)),
  /**
   * a·b + c in one rounding where the hardware fuses it (relaxed SIMD, e.g.
   * x86 FMA3), else a·b then + c. The choice is fixed per machine, so a run
   * stays deterministic there.
   */
  relaxed_madd: (a: Expr, b: Expr, c: Expr): Expr => {
    for (const e of [a, b, c]) check('f32x4.relaxed_madd', e, 'v128');
    return expr('v128', (out) => {
      a.emit(out);
      b.emit(out);
      c.emit(out);
      out.push(...simd(0x105));
    });
  },
};

export const i32x4 = {
  splat: unary('i32x4.splat', 'i32', 'v128', simd(0x11)),
  /** (n, n, n, n), or the four lanes given. */
  const: (n: number | [number, number, number, number]): Expr => expr('v128', (out) => {
    out.push(...simd(0x0c));
    const b = new Uint8Array(new Int32Array(typeof n === 'number' ? [n, n, n, n] : n).buffer);
    out.push(...b);
  }),
  extract_lane: lane('i32x4.extract_lane', 0x1b, 'v128', 'i32', 4),
  shl: (v: Expr, n: Expr): Expr => {
    check('i32x4.shl', v, 'v128');
    check('i32x4.shl', n, 'i32');
    return expr('v128', (out) => {
      v.emit(out);
      n.emit(out);
      out.push(...simd(0xab));
    });
  },
  add: binary('i32x4.add', 'v128', 'v128', simd(0xae)),
  sub: binary('i32x4.sub', 'v128', 'v128', simd(0xb1)),
  gt_s: binary('i32x4.gt_s', 'v128', 'v128', simd(0x3b)),
  trunc_sat_f32x4_s: unary('i32x4.trunc_sat_f32x4_s', 'v128', 'v128', simd(0xf8)),
};

export const f64x2 = {
  promote_low_f32x4: unary('f64x2.promote_low_f32x4', 'v128', 'v128', simd(0x5f)),
  extract_lane: lane('f64x2.extract_lane', 0x21, 'v128', 'f64', 2),
  splat: unary('f64x2.splat', 'f64', 'v128', simd(0x14)),
  add: binary('f64x2.add', 'v128', 'v128', simd(0xf0)),
  mul: binary('f64x2.mul', 'v128', 'v128', simd(0xf2)),
};

// ---------------------------------------------------------------------------
// Functions

/** A local variable (or parameter) of a function. */
export class Local {
  constructor(private readonly f: FunctionBuilder, readonly index: number, readonly type: ValType, readonly name: string) {}

  get(): Expr {
    return expr(this.type, (out) => {
      out.push(0x20);
      uleb(out, this.index);
    });
  }

  /** Statement: local = value. */
  set(value: Expr): void {
    check(`${this.name} = …`, value, this.type);
    this.f.stmt(expr('void', (out) => {
      value.emit(out);
      out.push(0x21);
      uleb(out, this.index);
    }));
  }

  /** Expression: local = value, leaving the value on the stack. */
  tee(value: Expr): Expr {
    check(`${this.name} = …`, value, this.type);
    return expr(this.type, (out) => {
      value.emit(out);
      out.push(0x22);
      uleb(out, this.index);
    });
  }
}

/** A function that can be called: an import or one defined in the module. */
export interface FuncRef {
  readonly index: number;
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** call f(args…): an expression of f's result type ('void' when it has none). */
export function call(f: FuncRef, ...args: Expr[]): Expr {
  if (args.length !== f.params.length) throw new Error(`call ${f.name}: ${args.length} arguments for ${f.params.length} parameters`);
  args.forEach((a, i) => check(`call ${f.name} argument ${i}`, a, f.params[i]!));
  if (f.results.length > 1) throw new Error(`call ${f.name}: multiple results are not supported`);
  return expr(f.results[0] ?? 'void', (out) => {
    for (const a of args) a.emit(out);
    out.push(0x10);
    uleb(out, f.index);
  });
}

/**
 * The body of one function under construction. Statements append to the
 * innermost open block; `depth` counts open blocks so that `break`/`continue`
 * of the structured helpers branch to the right label.
 */
export class FunctionBuilder {
  readonly params: Local[];
  private readonly locals: Local[] = [];
  private readonly code: number[] = [];
  /** Code run at entry, before the body: hoisted values. */
  private readonly prologue: number[] = [];
  private readonly hoisted = new Map<string, Local>();
  private labels: ('block' | 'loop' | 'if')[] = [];

  constructor(readonly name: string, params: [string, ValType][], readonly results: ValType[]) {
    this.params = params.map(([n, t], i) => new Local(this, i, t, n));
  }

  /** A new local of `type`, zero-initialised on entry. */
  local(type: ValType, name = `l${this.locals.length}`): Local {
    const l = new Local(this, this.params.length + this.locals.length, type, name);
    this.locals.push(l);
    return l;
  }

  /**
   * A local holding `value`, computed once at the function's entry (so
   * `value` may use only constants and parameters). V8 rebuilds a
   * v128.const at every use, inside loops too; hoisted, it is one register.
   */
  hoist(value: Expr): Local {
    if (value.type === 'void') throw new Error(`${this.name}: cannot hoist a statement`);
    const bytes: number[] = [];
    value.emit(bytes);
    const key = `${value.type}:${bytes.join(',')}`;
    let l = this.hoisted.get(key);
    if (!l) {
      l = this.local(value.type, `hoisted${this.hoisted.size}`);
      this.prologue.push(...bytes, 0x21);
      uleb(this.prologue, l.index);
      this.hoisted.set(key, l);
    }
    return l;
  }

  /** Append an expression as a statement (a value it leaves is dropped). */
  stmt(e: Expr): void {
    e.emit(this.code);
    if (e.type !== 'void') this.code.push(0x1a);
  }

  /** for (i = start; i < end; i += step) body — i32 counters, signed compare; end is re-evaluated each round. */
  forUp(i: Local, start: Expr, end: Expr, step: number | Expr, body: () => void): void {
    i.set(start);
    this.block(() => {
      this.loop(() => {
        this.brIf('block', i32.ge_s(i.get(), end));
        body();
        i.set(i32.add(i.get(), typeof step === 'number' ? i32.const(step) : step));
        this.br('loop');
      });
    });
  }

  /** if (cond) then else otherwise. */
  if(cond: Expr, then: () => void, otherwise?: () => void): void {
    check('if', cond, 'i32');
    cond.emit(this.code);
    this.code.push(0x04, 0x40);
    this.labels.push('if');
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.labels.pop();
    this.code.push(0x0b);
  }

  block(body: () => void): void {
    this.code.push(0x02, 0x40);
    this.labels.push('block');
    body();
    this.labels.pop();
    this.code.push(0x0b);
  }

  loop(body: () => void): void {
    this.code.push(0x03, 0x40);
    this.labels.push('loop');
    body();
    this.labels.pop();
    this.code.push(0x0b);
  }

  /** Branch to the innermost enclosing label of this kind (a block's end, a loop's start). */
  br(kind: 'block' | 'loop'): void {
    this.code.push(0x0c);
    uleb(this.code, this.depthOf(kind));
  }

  brIf(kind: 'block' | 'loop', cond: Expr): void {
    check('br_if', cond, 'i32');
    cond.emit(this.code);
    this.code.push(0x0d);
    uleb(this.code, this.depthOf(kind));
  }

  /** return value (or nothing). */
  ret(value?: Expr): void {
    if (value) {
      check('return', value, this.results[0] ?? 'i32');
      value.emit(this.code);
    }
    this.code.push(0x0f);
  }

  private depthOf(kind: 'block' | 'loop'): number {
    for (let d = 0; d < this.labels.length; d++) if (this.labels[this.labels.length - 1 - d] === kind) return d;
    throw new Error(`${this.name}: no enclosing ${kind}`);
  }

  /** The code section entry: locals grouped by type, the body, end. */
  encode(): number[] {
    if (this.labels.length) throw new Error(`${this.name}: unclosed block`);
    const body: number[] = [];
    const groups: [number, ValType][] = [];
    for (const l of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === l.type) last[0]++;
      else groups.push([1, l.type]);
    }
    uleb(body, groups.length);
    for (const [n, t] of groups) {
      uleb(body, n);
      body.push(TYPE_CODE[t]);
    }
    body.push(...this.prologue, ...this.code, 0x0b);
    const out: number[] = [];
    uleb(out, body.length);
    out.push(...body);
    return out;
  }
}

// ---------------------------------------------------------------------------
// Modules

interface FuncType {
  params: readonly ValType[];
  results: readonly ValType[];
}

export interface MemoryImport {
  /** Import path, e.g. env.memory. */
  module: string;
  name: string;
  minPages: number;
  /** The maximum, in pages; required for a shared memory, left out (no maximum) when undefined. */
  maxPages?: number;
  /** A shared memory (threads): its imports must match a shared WebAssembly.Memory. */
  shared: boolean;
}

/**
 * A module with one imported memory, imported functions, and defined
 * functions (exported under their names unless told otherwise). Functions
 * are referenced by index, so a callee is defined before its callers.
 */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly imports: { module: string; name: string; type: number }[] = [];
  private readonly funcs: { type: number; builder: FunctionBuilder; exported: boolean }[] = [];
  private defining = false;

  constructor(private readonly memory: MemoryImport) {}

  private typeIndex(t: FuncType): number {
    const same = (a: readonly ValType[], b: readonly ValType[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const i = this.types.findIndex((u) => same(u.params, t.params) && same(u.results, t.results));
    if (i >= 0) return i;
    this.types.push(t);
    return this.types.length - 1;
  }

  /** Import a host function (all imports come before the first defined function). */
  importFunction(module: string, name: string, params: ValType[], results: ValType[]): FuncRef {
    if (this.funcs.length) throw new Error(`import ${module}.${name}: imports must come before defined functions`);
    this.imports.push({ module, name, type: this.typeIndex({ params, results }) });
    return { index: this.imports.length - 1, name: `${module}.${name}`, params, results };
  }

  /** Define a function: `build` writes its body through the FunctionBuilder. */
  func(
    name: string, params: [string, ValType][], results: ValType[],
    build: (f: FunctionBuilder, ...params: Local[]) => void, exported = true,
  ): FuncRef {
    if (this.defining) throw new Error(`${name}: defined inside another function's body`);
    const builder = new FunctionBuilder(name, params, results);
    const index = this.imports.length + this.funcs.length;
    this.defining = true;
    try {
      build(builder, ...builder.params);
    } finally {
      this.defining = false;
    }
    this.funcs.push({ type: this.typeIndex({ params: params.map((p) => p[1]), results }), builder, exported });
    return { index, name, params: params.map((p) => p[1]), results };
  }

  /** The module's bytes. */
  toBytes(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]) => {
      out.push(id);
      uleb(out, content.length);
      out.push(...content);
    };
    // 1: types
    const types: number[] = [];
    uleb(types, this.types.length);
    for (const t of this.types) {
      types.push(0x60);
      uleb(types, t.params.length);
      for (const p of t.params) types.push(TYPE_CODE[p]);
      uleb(types, t.results.length);
      for (const r of t.results) types.push(TYPE_CODE[r]);
    }
    section(1, types);
    // 2: imports (functions, then the memory)
    const imports: number[] = [];
    uleb(imports, this.imports.length + 1);
    for (const im of this.imports) {
      utf8(imports, im.module);
      utf8(imports, im.name);
      imports.push(0x00);
      uleb(imports, im.type);
    }
    const m = this.memory;
    utf8(imports, m.module);
    utf8(imports, m.name);
    if (m.shared && m.maxPages === undefined) throw new Error('a shared memory needs a maximum');
    imports.push(0x02, m.shared ? 0x03 : m.maxPages === undefined ? 0x00 : 0x01);
    uleb(imports, m.minPages);
    if (m.maxPages !== undefined) uleb(imports, m.maxPages);
    section(2, imports);
    // 3: function types
    const funcs: number[] = [];
    uleb(funcs, this.funcs.length);
    for (const f of this.funcs) uleb(funcs, f.type);
    section(3, funcs);
    // 7: exports
    const exported = this.funcs.map((f, i) => ({ f, index: this.imports.length + i })).filter(({ f }) => f.exported);
    const exports: number[] = [];
    uleb(exports, exported.length);
    for (const { f, index } of exported) {
      utf8(exports, f.builder.name);
      exports.push(0x00);
      uleb(exports, index);
    }
    section(7, exports);
    // 10: code
    const code: number[] = [];
    uleb(code, this.funcs.length);
    for (const f of this.funcs) code.push(...f.builder.encode());
    section(10, code);
    return Uint8Array.from(out);
  }
}
