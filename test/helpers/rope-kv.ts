// Runs kernels/rope_kv.wgsl as the model runner launches it, for the kernel tests that need RoPE and a paged KV write.
import type { GpuContext } from '../../engine/device/device.ts';
import type { RopeLayout } from '../../engine/model/config.ts';
import { KV_CACHE_FORMATS, ropeKvInvocations } from '../../engine/ops/kv-cache.ts';
import { buffer, counts, dispatch } from './gpu.ts';

export interface RopeKvShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  layout: RopeLayout;
  block: number;
  maxBlocks: number;
  workgroupSize?: number; // default 64
  qkv?: boolean; // q, k and v read from one fused [T, q | k | v] buffer (bound as k and v)
  kvFormat?: number; // kernels/kv_cache.wgsl KV_FORMAT (default f32)
}

export interface RopeKvBuffers {
  q: GPUBuffer; // rotated q out (and in, unless qkv)
  k: GPUBuffer;
  v: GPUBuffer;
  kCache: GPUBuffer;
  vCache: GPUBuffer;
}

/** The step's index arrays, uploaded by ropeKv. */
export interface RopeKvIndices {
  positions: Uint32Array; // [T]
  slots: Uint32Array; // [T]
  blockTable: Uint32Array; // [slots, maxBlocks]
}

export async function ropeKv(
  ctx: GpuContext,
  s: RopeKvShape,
  b: RopeKvBuffers,
  ix: RopeKvIndices,
  tokens: number,
): Promise<void> {
  const d = ctx.device;
  const WG = s.workgroupSize ?? 64;
  const constants: Record<string, number> = {
    WG,
    HEAD_DIM: s.headDim,
    N_HEADS: s.heads,
    N_KV_HEADS: s.kvHeads,
    THETA: 10000,
    HALF: s.layout === 'half' ? 1 : 0,
    BLOCK: s.block,
    MAX_BLOCKS: s.maxBlocks,
    ...(s.qkv ? { QKV: 1 } : {}),
    ...(s.kvFormat !== undefined ? { KV_FORMAT: s.kvFormat } : {}),
  };
  const format = KV_CACHE_FORMATS[s.kvFormat ?? 0]!; // kvFormatCode's inverse
  const invocations = ropeKvInvocations(s.heads, s.headDim, s.kvHeads, format);
  await dispatch(
    ctx,
    'rope_kv',
    constants,
    [
      ...[b.q, b.k, b.v, b.kCache, b.vCache],
      ...[ix.positions, ix.slots, ix.blockTable].map((a) => buffer(d, a)),
      counts(d, tokens),
    ],
    [Math.ceil(invocations / WG), tokens],
  );
}
