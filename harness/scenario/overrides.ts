// `--set key=value` overrides and matrix keys share one path syntax: dotted keys, with `engine.X` short for
// `target.engine.X` (the toggle's scenario key as DESIGN.md writes it). Values are YAML scalars or flow
// collections, so `--set load.concurrency=8` is a number and `--set matrix.load.concurrency=[1,8]` a list.
import { parse as parseYaml } from 'yaml';
import { badInput } from '../../engine/errors.ts';

export type PathKey = string | number;

export interface SetOverride {
  text: string; // as the user typed it, for error messages
  path: PathKey[];
  value: unknown;
}

/** `engine.specDepth` -> ['target', 'engine', 'specDepth']; other dotted keys split on dots. */
export function keyToPath(key: string): string[] {
  const parts = key.split('.');
  if (parts.some((p) => p === '')) throw badInput(`"${key}" is not a valid key: empty segment between dots`);
  return parts[0] === 'engine' ? ['target', ...parts] : parts;
}

/** The matrix may sweep these top-level sections. */
export const MATRIX_ROOTS = ['target', 'workload', 'load', 'slo'] as const;

export function parseSet(text: string): SetOverride {
  const eq = text.indexOf('=');
  if (eq <= 0) throw badInput(`--set ${text}: expected key=value, e.g. --set load.concurrency=8`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  let value: unknown;
  try {
    value = raw === '' ? '' : parseYaml(raw);
  } catch (e) {
    throw badInput(`--set ${text}: the value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  // `matrix.engine.specDepth` names one matrix key, which itself contains dots.
  const path: PathKey[] = key.startsWith('matrix.') ? ['matrix', key.slice('matrix.'.length)] : keyToPath(key);
  return { text, path, value };
}

/** Writes `value` at `path` in a plain object tree, creating maps on the way. */
export function setAtPath(root: Record<string, unknown>, path: readonly PathKey[], value: unknown): void {
  let node: Record<string | number, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as PathKey;
    const next = node[k];
    if (next === null || typeof next !== 'object') node[k] = {};
    node = node[k] as Record<string | number, unknown>;
  }
  node[path[path.length - 1] as PathKey] = value;
}

export function getAtPath(root: unknown, path: readonly PathKey[]): unknown {
  let node = root;
  for (const k of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[k];
  }
  return node;
}
