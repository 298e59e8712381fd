// Weight formats of the linear layers (y[t, n] (+)= sum_k x[t, k] * w[n, k]): one registry keyed by name, each entry
// a module that packs an f32 [rows = N outputs, cols = K inputs] matrix into its GPU layout on load, names the WGSL
// kernel that multiplies by it, and gives the CPU reference (dequantize) that kernel must match: what every kernel
// computes is sum_k x[t, k] * dequantize(w)[n, k] up to f32 rounding of the accumulation.
//
// Why these layouts: a decode step (T = 1) is a matrix-vector product per layer, bound by the bytes of weight read,
// so tok/s scales with 1 / bytes per weight (f32 4, f16/bf16 2, int8 ~1, int4 ~0.5 plus scales). Every packed format
// stores u32 words (not f16/i8 arrays, which need optional WGSL features), padded so each row is whole vec4<u32>
// chunks: consecutive threads of a row read consecutive 16-byte chunks (coalesced, the widest load WGSL has), which is
// how the f16 matrix-vector kernel on the H200 reached 3.9-4 TB/s (see shared GPU.md). f16.ts and quantize.ts say
// why each format's bits sit where they do.
//
// Kernel interface (all formats): override constants WG, LANES (threads per row, a power of two dividing WG), K, N,
// ACCUMULATE, USE_OUT_COUNT as in kernels/matmul.wgsl, SWIGLU (--fusion's gate/up epilogue: kernels/matmul_store.wgsl);
// packed formats add ROWS (rows per thread), UNROLL (chunks whose loads a thread issues together), XS (x floats
// staged per slice) and the format's own constants(). Bindings 0: x f32 [T, K], 1: weights, 2: y f32 [T, N] (SWIGLU:
// [T, N / 2]), 3: Counts; packed formats 4: the folded RMSNorm's weight (any buffer when not folded), 5: scales
// (int8, int4). Grid: linearGrid(N, tokens, rowsPerWorkgroup) with
// rowsPerWorkgroup = WG / LANES * ROWS. linearLaunch builds all of it. Steps of many tokens on GPUs run the tiled
// kernels instead (engine/ops/tiled-launch.ts).
import type { IncludeSwaps } from '../device/kernels.ts';
import { BenchError } from '../errors.ts';
import { bf16Format, checkShape, f16Format } from './f16.ts';
import { checkGroupSize, int4Format, int8Format } from './quantize.ts';

/** A weight matrix [rows, cols] in a format's GPU layout; `words` (and `scales`) are uploaded as they are. */
export interface PackedWeight {
  readonly format: string; // WeightFormat.name, e.g. 'int4-g64-asym'
  readonly rows: number; // N, output features
  readonly cols: number; // K, input features
  readonly rowWords: number; // u32 words per packed row (K for f32; a multiple of 4 otherwise)
  readonly words: Uint32Array; // binding 1: [rows, rowWords]
  readonly scales?: Float32Array; // binding 5: int8 [rows]; int4 [rows, groups] or [rows, groups, 2] (scale, min)
  readonly groupSize?: number;
  readonly symmetric?: boolean;
}

export type Binding = 'x' | 'weights' | 'y' | 'counts' | 'norm' | 'scales';

export interface WeightFormat {
  readonly name: string; // the registry name plus options: 'f16', 'int8', 'int4-g64', 'int4-g32-asym'
  readonly kernel: string; // kernels/<kernel>.wgsl
  readonly bindings: readonly Binding[]; // the kernel's storage buffers in binding order
  pack(values: Float32Array, rows: number, cols: number): PackedWeight;
  /** The CPU reference: the f32 [rows, cols] matrix the kernel multiplies by. */
  dequantize(packed: PackedWeight): Float32Array;
  /** Bytes of weights and scales one matrix-vector product reads (padding included): for GB/s and MBU. */
  bytesPerMatvec(rows: number, cols: number): number;
  /** The format's override constants beyond WG, LANES, ROWS, K, N, ACCUMULATE, USE_OUT_COUNT. */
  constants(rows: number, cols: number): Record<string, number>;
  /** False for the f32 kernel (kernels/matmul.wgsl), which has no ROWS constant. */
  readonly multiRow?: boolean;
  /** Integer formats: a kernels/<kernel>_dot.wgsl multiplies int8-quantized x with integer dot products (--int-dot). */
  // values per chunk, vec4<u32> of quantized x per chunk, floats of x staged per slice before quantizing on GPUs (0:
  // each thread reads its chunk straight from global memory; kernels/matmul_dot.wgsl XS says which wins where)
  readonly intDot?: { chunk: number; xWords: number; stageX: number };
}

/** f32: the engine's original layout and kernel (kernels/matmul.wgsl), no packing, no padding. */
function f32Format(): WeightFormat {
  return {
    name: 'f32',
    kernel: 'matmul',
    bindings: ['x', 'weights', 'y', 'counts'],
    multiRow: false,
    pack(values, rows, cols) {
      checkShape(values, rows, cols);
      return { format: 'f32', rows, cols, rowWords: cols, words: new Uint32Array(Float32Array.from(values).buffer) };
    },
    dequantize: (p) => new Float32Array(p.words.buffer, p.words.byteOffset, p.rows * p.cols).slice(),
    bytesPerMatvec: (rows, cols) => rows * cols * 4,
    constants: () => ({}),
  };
}

/** The --int-dot toggle's values. */
export const INT_DOT_MODES = ['on', 'off'] as const;
export type IntDot = (typeof INT_DOT_MODES)[number];
/** The WGSL language feature kernels/matmul_dot.wgsl needs (dot4I8Packed, pack4xI8). */
export const INT_DOT_FEATURE = 'packed_4x8_integer_dot_product';

export interface WeightFormatOptions {
  groupSize?: number; // int4 only: 32, 64 or 128 (default 64)
  symmetric?: boolean; // int4 only (default true)
}

const REGISTRY: Record<string, (o: WeightFormatOptions) => WeightFormat> = {
  f32: () => f32Format(),
  f16: () => f16Format(),
  bf16: () => bf16Format(),
  int8: () => int8Format(),
  int4: (o) => int4Format(checkGroupSize(o.groupSize ?? 64), o.symmetric ?? true),
};

export const weightFormatNames = (): string[] => Object.keys(REGISTRY);

/**
 * The format module for a name and its options. Unknown names and options a format cannot honour (int4 group 48,
 * a group size given for int8) are BAD_INPUT errors, never silently ignored.
 */
export function getWeightFormat(name: string, options: WeightFormatOptions = {}): WeightFormat {
  const make = Object.hasOwn(REGISTRY, name) ? REGISTRY[name] : undefined;
  if (!make) {
    throw new BenchError('BAD_INPUT', `unknown weight format '${name}': use one of ${weightFormatNames().join(', ')}`);
  }
  if (name !== 'int4' && (options.groupSize !== undefined || options.symmetric !== undefined)) {
    throw new BenchError(
      'BAD_INPUT',
      `weight format '${name}' takes no group size or symmetry (they apply to int4 only): drop --group-size`,
    );
  }
  return make(options);
}

export interface LinearShape {
  rows: number; // N
  cols: number; // K
  workgroupSize: number; // WG
  lanes: number; // LANES: threads per output row (1 on software adapters, 32 on GPUs: see defaultLinearParams)
  rowsPerThread?: number; // ROWS, packed formats only (default 1)
  unroll?: number; // UNROLL, packed formats only: chunks whose weight loads are issued together, 1..4 (default 2)
  // XS: floats of x staged in workgroup memory per slice (packed formats: default 4096; integer-dot: the format's
  // stageX, or intDotStage's choice)
  xStage?: number;
  accumulate?: boolean;
  useOutCount?: boolean;
  // Rows are (gate, up) pairs, w1 and w3 interleaved (engine/ops/fusion.ts): y is [T, N / 2] = silu(gate) * up.
  // A pair must meet in one thread (rows per thread even) or, for the f32 kernel, in one workgroup.
  swiglu?: boolean;
  // --fusion's epilogue of the fused QKV linear (kernels/matmul_store_rope.wgsl), given its constants (head shape,
  // KV block and format, RoPE theta): rows pair as for swiglu; q rotated into y [T, q rows], k and v into the KV cache.
  ropeKv?: Record<string, number>;
  // The layer's input RMSNorm folded into the kernel (packed formats on the GPU path): binding 4 holds the norm's
  // weight [K], and y = (W (x * norm)) / sqrt(mean(x^2) + eps). Saves the norm's dispatch and its round trip.
  norm?: { eps: number };
  // --int-dot: x quantized to int8 per chunk and multiplied with integer dot products (kernels/matmul_dot.wgsl);
  // integer formats only, K within intDotFits.
  intDot?: boolean;
  // With intDot: the first round of weight loads issued before x is quantized (PREFETCH; default true).
  prefetch?: boolean;
  // With intDot: lane sums reduced through subgroup shuffles (kernels/matmul_reduce_sg.wgsl). Needs subgroups of at
  // least `lanes` invocations (the caller checks: canReduceInSubgroups).
  subgroupReduce?: boolean;
}

export interface LinearLaunch {
  kernel: string;
  constants: Record<string, number>; // every override constant the kernel needs
  rowsPerWorkgroup: number; // for linearGrid
  tokensPerWorkgroup: number; // for linearGrid
  splits?: number; // for linearGrid: parts of K (tiled kernel; > 1 adds its combine pass)
  includes?: IncludeSwaps; // for kernelPipeline: the epilogue variant (ropeKv)
}

export const MAX_ROWS_PER_THREAD = 4; // the kernels' MAX_ROWS: accumulators are sized statically
export const MAX_UNROLL = 4; // the kernels' MAX_UNROLL
// x staged per slice (floats): 16 KiB, which with the reduction buffer (WG * 8 floats) stays within lavapipe's 32 KiB
// of workgroup memory. It must hold a 32-value int4 chunk for each of the 8 tokens of a tile.
export const DEFAULT_X_STAGE = 4096;
const MIN_X_STAGE = 256;
const CPU_WG = 8; // kernels/matmul_rows.wgsl: invocations per workgroup (llvmpipe's SIMD width on AVX2)
const CPU_ROWS = 8; // and its ROWS

/** Kernel name, override constants and rows per workgroup of one linear layer in a format. */
export function linearLaunch(format: WeightFormat, s: LinearShape): LinearLaunch {
  const launch = kernelLaunch(format, s);
  if (!s.ropeKv) return launch;
  return {
    ...launch,
    constants: { ...launch.constants, ...s.ropeKv },
    includes: { matmul_store: 'matmul_store_rope' },
  };
}

function kernelLaunch(format: WeightFormat, s: LinearShape): LinearLaunch {
  const rowsPerThread = s.rowsPerThread ?? 1;
  const lanesOk = Number.isInteger(Math.log2(s.lanes)) && s.lanes <= s.workgroupSize && s.workgroupSize % s.lanes === 0;
  if (!lanesOk || !Number.isInteger(rowsPerThread) || rowsPerThread < 1 || rowsPerThread > MAX_ROWS_PER_THREAD) {
    throw new BenchError(
      'BAD_INPUT',
      `linear layer: lanes ${s.lanes} must be a power of two dividing the workgroup size ${s.workgroupSize}, and rows per thread ${rowsPerThread} 1..${MAX_ROWS_PER_THREAD}`,
    );
  }
  if (format.multiRow === false && (rowsPerThread !== 1 || (s.lanes > 1 && s.lanes < TOKEN_TILE))) {
    // matmul.wgsl stores token j from lane j, so with 1 < LANES < 8 it would drop tokens LANES..7 of a tile.
    throw new BenchError(
      'BAD_INPUT',
      `weight format ${format.name} needs rows per thread 1 and lanes 1 or >= ${TOKEN_TILE} (got ${rowsPerThread}, ${s.lanes})`,
    );
  }
  if (s.swiglu || s.ropeKv) checkPairs(format, s, rowsPerThread);
  if (s.norm && (format.multiRow === false || s.lanes === 1)) {
    throw new BenchError(
      'BAD_INPUT',
      `linear layer with a folded RMSNorm: needs a packed format on the GPU path (lanes > 1); got ${format.name}, lanes ${s.lanes}`,
    );
  }
  const swiglu: Record<string, number> = s.swiglu ? { SWIGLU: 1 } : {};
  if (format.multiRow === false && s.lanes === 1 && s.cols % 4 === 0) {
    // A CPU (lanes 1): the f32 kernel written for llvmpipe, 8 invocations of 8 rows whatever the workgroup size
    // toggle (kernels/matmul_rows.wgsl says why).
    const constants = { WG: CPU_WG, K: s.cols, N: s.rows, ACCUMULATE: s.accumulate ? 1 : 0 };
    return {
      kernel: 'matmul_rows',
      constants: { ...constants, USE_OUT_COUNT: s.useOutCount ? 1 : 0, ...swiglu },
      rowsPerWorkgroup: CPU_WG * CPU_ROWS,
      tokensPerWorkgroup: TOKEN_TILE,
    };
  }
  const constants: Record<string, number> = {
    WG: s.workgroupSize,
    LANES: s.lanes,
    K: s.cols,
    N: s.rows,
    ACCUMULATE: s.accumulate ? 1 : 0,
    USE_OUT_COUNT: s.useOutCount ? 1 : 0,
    ...swiglu,
    ...format.constants(s.rows, s.cols),
  };
  if (s.intDot) {
    if (!format.intDot) {
      throw new BenchError('UNSUPPORTED', `--int-dot on needs int8 or int4 weights (got ${format.name})`);
    }
    const unroll = s.unroll ?? 2;
    Object.assign(
      constants,
      {
        ROWS: rowsPerThread,
        UNROLL: unroll,
        XS: s.xStage ?? format.intDot.stageX,
        PREFETCH: s.prefetch === false ? 0 : 1,
      },
      s.norm ? { NORM: 1, EPS: s.norm.eps } : {},
    );
    return {
      kernel: `${format.kernel}_dot${s.subgroupReduce ? '_sg' : ''}`,
      constants,
      rowsPerWorkgroup: (s.workgroupSize / s.lanes) * rowsPerThread,
      tokensPerWorkgroup: TOKEN_TILE,
    };
  }
  if (format.multiRow !== false) {
    const xStage = s.xStage ?? DEFAULT_X_STAGE;
    if (!Number.isInteger(xStage) || xStage < MIN_X_STAGE || xStage % 4 !== 0) {
      throw new BenchError(
        'BAD_INPUT',
        `linear layer: x stage ${xStage} must be a multiple of 4, at least ${MIN_X_STAGE}`,
      );
    }
    const unroll = s.unroll ?? 2;
    if (!Number.isInteger(unroll) || unroll < 1 || unroll > MAX_UNROLL) {
      throw new BenchError('BAD_INPUT', `linear layer: unroll ${unroll} must be 1..${MAX_UNROLL}`);
    }
    constants.ROWS = rowsPerThread;
    if (s.norm) Object.assign(constants, { NORM: 1, EPS: s.norm.eps });
    constants.UNROLL = unroll;
    constants.XS = xStage;
  }
  return {
    kernel: format.kernel,
    constants,
    rowsPerWorkgroup: (s.workgroupSize / s.lanes) * rowsPerThread,
    tokensPerWorkgroup: TOKEN_TILE,
  };
}

/**
 * The SWIGLU and RoPE epilogues store a row pair at once, so both rows must be in one thread (one workgroup for
 * matmul.wgsl).
 */
function checkPairs(format: WeightFormat, s: LinearShape, rowsPerThread: number): void {
  const cpuF32 = format.multiRow === false && s.lanes === 1 && s.cols % 4 === 0; // matmul_rows: 8 rows a thread
  const pairs = format.multiRow === false ? cpuF32 || (s.workgroupSize / s.lanes) % 2 === 0 : rowsPerThread % 2 === 0;
  if (s.rows % 2 !== 0 || s.accumulate || s.useOutCount || !pairs || (s.swiglu && s.ropeKv)) {
    throw new BenchError(
      'BAD_INPUT',
      `linear layer with the ${s.swiglu ? 'SwiGLU' : 'RoPE'} epilogue (one at most): needs an even row count (got ${s.rows}), no accumulate or out count, and each row pair in one thread (rows per thread ${rowsPerThread}; f32: an even number of row groups per workgroup, ${s.workgroupSize} / ${s.lanes})`,
    );
  }
}

/**
 * Thread layout for a format: one row per thread on software adapters (lavapipe: no barriers), and on GPUs 32 lanes
 * per row (coalesced 512-byte reads of a row) with 4 chunks' loads in flight; the packed formats give a thread 4 rows
 * (each staged x value serves 4 rows), 2 on layers no taller than wide, which then have twice the workgroups (their
 * 4096 rows made 128, fewer than an H100's SMs). llama-7b f16 on an H100, one machine session: 137.9 tok/s with
 * unroll 2 and 4 rows everywhere, 143.2 with unroll 4, 144.4 with both changes; rows 1 was up to 3x slower in kernel
 * sweeps. Sweep them on new hardware (bench/linear.ts). `paired` (the SwiGLU and RoPE epilogues) keeps a thread's
 * rows even, so each row pair meets in one thread.
 */
export function defaultLinearParams(
  format: WeightFormat,
  rows: number,
  cols: number,
  software: boolean,
  workgroupSize: number,
  paired = false,
): Pick<LinearShape, 'lanes' | 'rowsPerThread' | 'unroll'> {
  const multiRow = format.multiRow !== false;
  if (software) return { lanes: 1, rowsPerThread: paired && multiRow ? 2 : 1, unroll: 1 };
  const lanes = Math.min(32, workgroupSize);
  return multiRow ? { lanes, rowsPerThread: rows <= cols ? 2 : 4, unroll: 4 } : { lanes, rowsPerThread: 1 };
}

const MAX_DIM = 65535;
export const TOKEN_TILE = 8; // the kernels' TT: tokens per workgroup, so a weight is read once per 8 tokens

/** A linear layer's grid: row groups folded over x and y (x stops at 65535), token tiles on z. */
export function linearGrid(
  n: number,
  tokens: number,
  rowsPerWorkgroup: number,
  tokensPerWorkgroup = TOKEN_TILE,
  splits = 1,
): [number, number, number] {
  const groups = Math.ceil(n / rowsPerWorkgroup);
  const gx = Math.min(groups, MAX_DIM);
  return [gx, Math.ceil(groups / gx), Math.ceil(tokens / tokensPerWorkgroup) * splits];
}
