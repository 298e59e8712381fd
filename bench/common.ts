// What the benchmark scripts share: flag parsing and the --formats names.
import { KV_CACHE_FORMATS } from '../engine/ops/kv-cache.ts';
import { SUBGROUP_MATRIX_MODES } from '../engine/ops/subgroup-matrix.ts';
import type { EngineOptions } from '../engine/runtime/engine-options.ts';

/** The value after --name on the command line, or the fallback. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

/** Engine toggles for a --formats name: f32, f16, bf16, int8, int4 (groups of 64), int4-g32, int4-g128. */
export function formatToggles(format: string): Partial<EngineOptions> {
  if (format === 'int8') return { quant: 'int8' };
  const m = /^int4(?:-g(\d+))?$/.exec(format);
  if (m) return { quant: 'int4', groupSize: Number(m[1] ?? 64) };
  if (format !== 'f32' && format !== 'f16' && format !== 'bf16') {
    throw new Error(`unknown format '${format}': use f32, f16, bf16, int8, int4, int4-g32, int4-g128`);
  }
  return { precision: format };
}

/** --subgroup-matrix auto|on|off, when given, as an engine toggle (the engine's default, auto, otherwise). */
export function subgroupMatrixToggle(): Partial<EngineOptions> {
  const mode = choice('subgroup-matrix', SUBGROUP_MATRIX_MODES);
  return mode ? { subgroupMatrix: mode } : {};
}

/** --workgroup-size N, when given, as an engine toggle (the engine's default otherwise). */
export function workgroupToggle(): Partial<EngineOptions> {
  return process.argv.includes('--workgroup-size') ? { workgroupSize: Number(arg('workgroup-size', '')) } : {};
}

/** --kv-cache f32|f16|int8, when given, as an engine toggle (the engine's default, f32, otherwise). */
export function kvCacheToggle(): Partial<EngineOptions> {
  const format = choice('kv-cache', KV_CACHE_FORMATS);
  return format ? { kvCache: format } : {};
}

/** The value of --name, one of `values`; undefined when the flag is absent. */
function choice<T extends string>(name: string, values: readonly T[]): T | undefined {
  if (!process.argv.includes(`--${name}`)) return undefined;
  const value = arg(name, '');
  if (!values.includes(value as T)) throw new Error(`--${name}: use ${values.join(', ')}`);
  return value as T;
}
