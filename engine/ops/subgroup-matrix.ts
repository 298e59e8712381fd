// --subgroup-matrix: the linear layers of steps of many tokens (batched decode, prefill) on the GPU's matrix units
// (tensor cores) through WebGPU's experimental subgroup-matrix feature, kernels/matmul_mma.wgsl, instead of f32
// multiply-adds (kernels/matmul_tiled.wgsl). Packed formats only (f16, bf16, int8, int4: weights decoded to f16);
// f32 weights keep their exact f32 kernels. `auto` uses the matrix units where the adapter has them
// (GpuContext.subgroupMatrix); `on` where it lacks them is an error.
import type { GpuContext } from '../device/device.ts';
import { BenchError } from '../errors.ts';

export const SUBGROUP_MATRIX_MODES = ['auto', 'on', 'off'] as const;
export type SubgroupMatrixMode = (typeof SUBGROUP_MATRIX_MODES)[number];

/** kernels/matmul_mma.wgsl's block: BN rows x BT tokens per workgroup of MMA_WG invocations. */
export const MMA_ROWS = 64;
export const MMA_TOKENS = 128;
export const MMA_WG = 256;

type Adapter = Pick<GpuContext, 'subgroupMatrix' | 'adapterName'>;

/**
 * Whether the runner multiplies on the matrix units: `auto` resolved against the adapter and the weights (`packed`:
 * a format other than f32); `on` where either rules them out is UNSUPPORTED.
 */
export function subgroupMatrixOn(mode: SubgroupMatrixMode, ctx: Adapter, packed: boolean): boolean {
  if (mode === 'on' && !packed) {
    throw new BenchError(
      'UNSUPPORTED',
      '--subgroup-matrix on: f32 weights have no matrix-unit kernel (it multiplies f16); use --precision f16|bf16 or --quant int8|int4, or --subgroup-matrix off',
    );
  }
  if (mode === 'on' && !ctx.subgroupMatrix) {
    throw new BenchError(
      'UNSUPPORTED',
      `--subgroup-matrix on: adapter "${ctx.adapterName}" has no subgroup-matrix configuration the engine uses (16x16x16 f16 with f32 results, subgroups of 32, shader-f16); use --subgroup-matrix off or auto`,
    );
  }
  return mode === 'on' || (mode === 'auto' && ctx.subgroupMatrix && packed);
}

/** The mode as it runs on this adapter with these weights: `auto` becomes on or off. */
export const subgroupMatrixInEffect = (mode: SubgroupMatrixMode, ctx: Adapter, packed: boolean): 'on' | 'off' =>
  subgroupMatrixOn(mode, ctx, packed) ? 'on' : 'off';
