// The one loader for WGSL: kernels live in kernels/<name>.wgsl and are compiled once per device and
// specialisation (override constants such as the workgroup size).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KERNEL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'kernels');
const sources = new Map<string, string>();

// A line `//! include NAME` is replaced by kernels/NAME.wgsl: WGSL has no imports, and helpers several kernels
// share (reading the KV cache in its format) should exist once.
const INCLUDE = /^\/\/! include (\w+)$/gm;

/**
 * Which include to use in place of another (`{ matmul_store: 'matmul_store_rope' }`): a kernel variant with a
 * different epilogue, without a copy of every kernel that includes it.
 */
export type IncludeSwaps = Record<string, string>;

export function kernelSource(name: string, swaps: IncludeSwaps = {}, seen: string[] = []): string {
  const key = variantKey(name, swaps);
  let src = sources.get(key);
  if (src === undefined) {
    if (seen.includes(name)) throw new Error(`kernels/${name}.wgsl includes itself (${[...seen, name].join(' -> ')})`);
    src = readFileSync(join(KERNEL_DIR, `${name}.wgsl`), 'utf8').replace(INCLUDE, (_, inc: string) =>
      kernelSource(Object.hasOwn(swaps, inc) ? swaps[inc]! : inc, swaps, [...seen, name]),
    );
    sources.set(key, src);
  }
  return src;
}

const variantKey = (name: string, swaps: IncludeSwaps) =>
  Object.keys(swaps).length === 0 ? name : `${name}${JSON.stringify(swaps)}`;

const modules = new WeakMap<GPUDevice, Map<string, GPUShaderModule>>();
const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** A compute pipeline for kernels/<name>.wgsl's `main`, cached per device, constant set and include swaps. */
export function kernelPipeline(
  device: GPUDevice,
  name: string,
  constants: Record<string, number> = {},
  entryPoint = 'main',
  swaps: IncludeSwaps = {},
): GPUComputePipeline {
  let byKey = pipelines.get(device);
  if (!byKey) {
    byKey = new Map();
    pipelines.set(device, byKey);
  }
  const source = variantKey(name, swaps);
  const key = `${source}:${entryPoint}:${JSON.stringify(constants)}`;
  let p = byKey.get(key);
  if (p) return p;
  let mods = modules.get(device);
  if (!mods) {
    mods = new Map();
    modules.set(device, mods);
  }
  let module = mods.get(source);
  if (!module) {
    module = device.createShaderModule({ label: source, code: kernelSource(name, swaps) });
    mods.set(source, module);
  }
  p = device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint, constants } });
  byKey.set(key, p);
  return p;
}
