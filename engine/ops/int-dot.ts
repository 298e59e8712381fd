// The integer-dot linear kernel's launch choices (kernels/matmul_dot.wgsl, --int-dot on): whether a layer's K fits
// its workgroup memory, how much of x it stages a slice, its thread layout, and whether its lane sums can meet in
// subgroups. engine/ops/weight-formats.ts turns them into the kernel's name and constants (linearLaunch).
import { defaultLinearParams, type LinearShape, MAX_ROWS_PER_THREAD, type WeightFormat } from './weight-formats.ts';

/** Whether a row group of `lanes` fits in the adapter's smallest subgroup (0: no subgroups), as subgroupReduce needs. */
export function canReduceInSubgroups(lanes: number, subgroupMinSize: number): boolean {
  return lanes > 1 && lanes <= subgroupMinSize;
}

/**
 * Whether kernels/matmul_dot.wgsl can hold a token's quantized x (and its reductions) for K = cols in `bytes` of
 * workgroup memory: it quantizes the whole of K at once (from staged slices of x where the format stages them).
 */
export function intDotFits(format: WeightFormat, cols: number, workgroupSize: number, bytes: number): boolean {
  return format.intDot !== undefined && intDotBytes(format, cols, workgroupSize, format.intDot.stageX) <= bytes;
}

/**
 * Floats of x the integer-dot kernel stages per slice (XS) for K = cols: the format's stageX, doubled while the
 * workgroup memory holds it and K has more to stage. Each slice is quantized by one thread per 32-value chunk
 * between two barriers, so 2048 floats kept 3 in 4 of 256 threads idle and cut llama-7b's w2 (K = 11008) into 6
 * rounds; an H100's 48 KiB hold 4096 floats (formats that read x directly, int8, stay at 0).
 */
export function intDotStage(format: WeightFormat, cols: number, workgroupSize: number, bytes: number): number {
  const base = format.intDot?.stageX ?? 0;
  let stage = base;
  while (stage > 0 && stage < cols && intDotBytes(format, cols, workgroupSize, 2 * stage) <= bytes) stage *= 2;
  return stage;
}

// Workgroup memory of kernels/matmul_dot.wgsl: xq and xd per chunk; the staged slice (a float of padding per
// chunk); partial sums and squares per thread. Each variable takes a multiple of 16 bytes.
function intDotBytes(format: WeightFormat, cols: number, workgroupSize: number, stage: number): number {
  const { chunk, xWords } = format.intDot!;
  const chunks = Math.ceil(cols / chunk);
  const vars = [
    chunks * 16 * xWords,
    chunks * 8,
    (Math.max(stage, chunk) / chunk) * (chunk + 1) * 4,
    workgroupSize * (MAX_ROWS_PER_THREAD + 1) * 4,
  ];
  return vars.reduce((sum, b) => sum + Math.ceil(b / 16) * 16, 0);
}

/**
 * Thread layout of the integer-dot kernel (kernels/matmul_dot.wgsl) on GPUs: 4 rows a thread; lanes a row by the
 * layer's aspect, fewer for taller layers (32 for wide ones, 16 from 2x as tall as wide, 8 from 4x); 4 chunks' loads
 * in flight, 2 for int4's tallest; the first loads before x is quantized, except int4's two wider aspects.
 * Measured on an H100 (bench/linear.ts --norm, llama-7b shapes, one machine session, sweeps reproducible within
 * 0.3 us), int8: 12288x4096 24.2 us (was 27.7 with 32 lanes, no prefetch), 22016x4096 38.3 (40.3 with 16 lanes),
 * 4096x11008 27.5 (28.2), 4096x4096 13.7 (13.9); int4: 22016x4096 24.8 (29.4 with 16 lanes and 4 chunks), where
 * prefetching lost 0.5-1 us on the other three (16.3, 10.5, 20.4 us without it). Lane sums meet through subgroup
 * shuffles where the adapter's subgroups hold a row group, and x is staged in slices as large as workgroup memory
 * holds (intDotStage).
 */
export function intDotParams(
  format: WeightFormat,
  rows: number,
  cols: number,
  software: boolean,
  workgroupSize: number,
  paired: boolean,
  adapter: { subgroupMinSize: number; workgroupBytes: number },
): Pick<LinearShape, 'lanes' | 'rowsPerThread' | 'unroll' | 'prefetch' | 'subgroupReduce' | 'xStage'> {
  // CPUs keep the layout they were measured with (prefetching was never measured on lavapipe; they read x directly,
  // so there is no slice to size).
  if (software) return { ...defaultLinearParams(format, rows, cols, software, workgroupSize, paired), prefetch: false };
  const aspect = rows >= 4 * cols ? 'taller' : rows >= 2 * cols ? 'tall' : 'wide';
  const lanes = Math.min({ wide: 32, tall: 16, taller: 8 }[aspect], workgroupSize);
  const int4 = format.name.startsWith('int4');
  return {
    lanes,
    rowsPerThread: 4,
    unroll: int4 && aspect === 'taller' ? 2 : 4,
    prefetch: !int4 || aspect === 'taller',
    subgroupReduce: canReduceInSubgroups(lanes, adapter.subgroupMinSize),
    xStage: intDotStage(format, cols, workgroupSize, adapter.workgroupBytes),
  };
}
