// The tiled linear kernels (kernels/matmul_tiled.wgsl; with --subgroup-matrix kernels/matmul_mma.wgsl on matrix
// units), which steps of many tokens run for the packed formats on GPUs: when a step takes them, their launch, and
// how many parts K is split into for a layer and for a step.
import { BenchError } from '../errors.ts';
import { MMA_ROWS, MMA_TOKENS, MMA_WG } from './subgroup-matrix.ts';
import type { LinearLaunch, LinearShape, WeightFormat } from './weight-formats.ts';

/**
 * Steps of at least this many tokens (rows, for the classifier) run the packed formats' tiled kernel on GPUs: the
 * matrix-vector kernel reads each weight once per token there (from cache), the tiled one once per block of tokens
 * (32; 128 on matrix units).
 */
export const TILED_MIN_TOKENS = 16;
const TILED_ROWS = 64; // kernels/matmul_tiled.wgsl: BN
const TILED_TOKENS = 32; // and BT
const TILED_WG = 128; // and WG
/** Invocations per workgroup of the tiled kernel (`mma`: on matrix units) and of its combine entry point. */
export const tiledWorkgroupSize = (mma: boolean): number => (mma ? MMA_WG : TILED_WG);
/** A workgroup's block of rows x tokens: kernels/matmul_tiled.wgsl's, or with `mma` kernels/matmul_mma.wgsl's. */
const block = (mma: boolean) =>
  mma ? { rows: MMA_ROWS, tokens: MMA_TOKENS } : { rows: TILED_ROWS, tokens: TILED_TOKENS };
// Split K until a step of 128 tokens has about this many workgroups (4 per SM of a 132-SM H100; measured there:
// a 2048-row layer ran at half the multiply-add rate of a 16384-row one, with 128 workgroups), keeping at least
// 8 K steps of 32 values per split. The matrix-unit kernel, whose workgroups are twice as large, splits to a quarter
// as many, one per SM. llama-1b at 128 sequences on an H100: with its earlier 128-thread blocks of 64 tokens, the
// step's GPU pass took 12.85 ms at 528, 12.33 at 264, 16.63 at 1056 (one machine session); with the 256-thread
// blocks of 128 tokens, bench/throughput.ts 8615.5 tok/s (12.89 ms a step) at 132, 8400.6 (13.24 ms) at 264.
const TILED_TARGET_WORKGROUPS = 528;
const MMA_TARGET_WORKGROUPS = 132;
const MAX_SPLITS = 8;

/** Workgroups a step of the tiled kernel (`mma`: on matrix units) splits K until it has (about). */
const tiledTarget = (mma = false): number => (mma ? MMA_TARGET_WORKGROUPS : TILED_TARGET_WORKGROUPS);

/** Parts of K for a [rows, cols] layer in the tiled kernel (`mma`: kernels/matmul_mma.wgsl's blocks). */
export function tiledSplits(rows: number, cols: number, mma = false): number {
  const byLength = Math.floor(Math.ceil(cols / 32) / 8);
  return tiledStepSplits(Math.max(1, Math.min(MAX_SPLITS, byLength)), rows, 128, mma);
}

/**
 * The parts of K a step of `tokens` rows uses in a layer split `splits` ways (tiledSplits, for 128 tokens): fewer
 * once the step's own token blocks fill the GPU, so a 512-token prefill step does not launch 8 x 4 times a decode
 * step's workgroups, each a sliver of K, and write 8 partial sums of every output. kernels/matmul_tiled_io.wgsl
 * (step_splits) computes the same.
 */
export function tiledStepSplits(
  splits: number,
  rows: number,
  tokens: number,
  mma = false,
  target = tiledTarget(mma),
): number {
  const b = block(mma);
  const blocks = Math.ceil(rows / b.rows) * Math.ceil(tokens / b.tokens);
  return Math.max(1, Math.min(splits, Math.floor(target / blocks)));
}

/**
 * The tiled kernel (kernels/matmul_tiled.wgsl, or with `mma` kernels/matmul_mma.wgsl on matrix units) of a packed
 * format: its own fixed thread layout (tiledWorkgroupSize). With `splits` > 1 partial sums go to a scratch buffer of
 * splits x maxTokens x rows floats (binding 6) and its `combine` entry point finishes the layer.
 */
export function tiledLaunch(
  format: WeightFormat,
  s: Pick<LinearShape, 'rows' | 'cols' | 'accumulate' | 'useOutCount' | 'swiglu'>,
  splits = 1,
  maxTokens = 1,
  mma = false,
): LinearLaunch {
  if (format.multiRow === false) throw new Error(`weight format ${format.name} has no tiled kernel`);
  if (s.swiglu && (s.rows % 2 !== 0 || s.accumulate || s.useOutCount)) {
    throw new BenchError(
      'BAD_INPUT',
      `tiled linear layer with the SwiGLU epilogue: needs an even row count, got ${s.rows}`,
    );
  }
  return {
    kernel: `${format.kernel}_${mma ? 'mma' : 'tiled'}`,
    constants: {
      K: s.cols,
      N: s.rows,
      ACCUMULATE: s.accumulate ? 1 : 0,
      USE_OUT_COUNT: s.useOutCount ? 1 : 0,
      ...(s.swiglu ? { SWIGLU: 1 } : {}),
      ...(splits > 1 ? { SPLITS: splits, MAX_T: maxTokens, TARGET_WORKGROUPS: tiledTarget(mma) } : {}),
      ...format.constants(s.rows, s.cols),
    },
    rowsPerWorkgroup: block(mma).rows,
    tokensPerWorkgroup: block(mma).tokens,
    splits,
  };
}
