// Test helpers for running one WGSL kernel on fresh random inputs with poisoned outputs.
import assert from 'node:assert/strict';
import { createDevice, type GpuContext } from '../../engine/device/device.ts';
import { type IncludeSwaps, kernelPipeline } from '../../engine/device/kernels.ts';
import { bindGroup, readBuffer } from '../../engine/runtime/gpu-buffers.ts';

let ctx: Promise<GpuContext> | undefined;
// Dawn's checks on (--gpu-checks): the kernel and runner tests catch a binding or pipeline mistake as a WebGPU error
// (dispatch() pops one). The CLI and server tests run the engine as users do, with them off.
export const gpu = (): Promise<GpuContext> => {
  ctx ??= createDevice({ checks: 'on' });
  return ctx;
};

/** Deterministic random numbers in [-1, 1) (mulberry32), so a failure can be replayed. */
export function randoms(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

const POISON = 0x7fc00bad; // a NaN: any output element the kernel forgets to write fails the comparison

export function buffer(
  device: GPUDevice,
  data: Float32Array | Uint32Array | number,
  usage = 0x80 | 0x08 | 0x04,
): GPUBuffer {
  const bytes = typeof data === 'number' ? data * 4 : data.byteLength;
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
  if (typeof data === 'number') device.queue.writeBuffer(b, 0, new Uint32Array(b.size / 4).fill(POISON));
  else device.queue.writeBuffer(b, 0, data);
  return b;
}

export const counts = (device: GPUDevice, nTokens: number, nOut = 0) =>
  buffer(device, new Uint32Array([nTokens, nOut, 0, 0]));

export async function dispatch(
  ctx: GpuContext,
  kernel: string,
  constants: Record<string, number>,
  buffers: (GPUBuffer | undefined)[], // binding i; undefined: not used by the entry point
  grid: [number, number?, number?],
  entryPoint = 'main',
  swaps: IncludeSwaps = {},
): Promise<void> {
  const d = ctx.device;
  const p = kernelPipeline(d, kernel, constants, entryPoint, swaps);
  const bind = bindGroup(d, p, buffers);
  d.pushErrorScope('validation');
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(p);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(grid[0], grid[1] ?? 1, grid[2] ?? 1);
  pass.end();
  d.queue.submit([enc.finish()]);
  const err = await d.popErrorScope();
  assert.equal(err, null, err?.message);
}

export async function readF32(ctx: GpuContext, b: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(ctx.device, b, n * 4));
}

/** max |a - b| / max |b|: the relative error the tests bound. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'length');
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    num = Math.max(num, d);
    den = Math.max(den, Math.abs(expected[i]!));
  }
  return num / (den || 1);
}
