// Matrix expansion. A map of key -> values is a cartesian sweep; a list of maps is a set of hand-picked points
// (an optimization ladder). Engine keys vary slowest, so consecutive points share one spawned server.
import { keyToPath, MATRIX_ROOTS, type PathKey } from './overrides.ts';

export interface MatrixOverride {
  key: string; // as written in the scenario, e.g. engine.specDepth
  path: PathKey[]; // where it lands, e.g. ['target', 'engine', 'specDepth']
  value: unknown;
  docPath: PathKey[]; // where the value sits in the file, for error messages
}

export interface RawPoint {
  name: string;
  overrides: MatrixOverride[];
}

export interface MatrixKeyError {
  docPath: PathKey[];
  message: string;
}

const isEngineKey = (path: PathKey[]) => path[0] === 'target';

/** Points of the sweep; one unnamed point when there is no matrix. Throws MatrixKeyError[] for bad keys. */
export function expandMatrix(matrix: unknown): RawPoint[] {
  if (matrix === undefined || matrix === null) return [{ name: 'default', overrides: [] }];
  const errors: MatrixKeyError[] = [];
  const check = (key: string, docPath: PathKey[]): PathKey[] => {
    const path = keyToPath(key);
    if (!(MATRIX_ROOTS as readonly string[]).includes(path[0] as string) || path.length < 2) {
      errors.push({
        docPath,
        message: `matrix key "${key}" must be a dotted path under ${MATRIX_ROOTS.join(', ')} or engine (e.g. engine.specDepth, load.concurrency)`,
      });
    }
    return path;
  };

  let points: RawPoint[];
  if (Array.isArray(matrix)) {
    points = matrix.map((item: Record<string, unknown>, i) => {
      const overrides = Object.entries(item)
        .filter(([k]) => k !== 'name')
        .map(([key, value]) => ({ key, path: check(key, ['matrix', i, key]), value, docPath: ['matrix', i, key] }));
      const name = typeof item.name === 'string' ? item.name : pointName(overrides);
      return { name, overrides };
    });
  } else {
    const entries = Object.entries(matrix as Record<string, unknown[]>).map(([key, values]) => ({
      key,
      path: check(key, ['matrix', key]),
      values,
    }));
    // Stable sort: engine keys first, so they change least often.
    entries.sort((a, b) => Number(isEngineKey(b.path)) - Number(isEngineKey(a.path)));
    let combos: MatrixOverride[][] = [[]];
    for (const e of entries) {
      combos = combos.flatMap((c) =>
        e.values.map((value, i) => [...c, { key: e.key, path: e.path, value, docPath: ['matrix', e.key, i] }]),
      );
    }
    points = combos.map((overrides) => ({ name: pointName(overrides), overrides }));
  }
  if (errors.length > 0) throw errors;
  return disambiguate(points);
}

/** `specDepth=4,concurrency=8`: the last path segment, unless two keys share it. */
function pointName(overrides: MatrixOverride[]): string {
  if (overrides.length === 0) return 'default';
  const last = overrides.map((o) => String(o.path[o.path.length - 1]));
  return overrides
    .map((o, i) => {
      const short = last[i] as string;
      const label = last.filter((l) => l === short).length > 1 ? o.key : short;
      return `${label}=${String(o.value)}`;
    })
    .join(',');
}

/** Names are how gates and comparisons refer to points, so they must be unique. */
function disambiguate(points: RawPoint[]): RawPoint[] {
  const seen = new Map<string, number>();
  return points.map((p) => {
    const n = (seen.get(p.name) ?? 0) + 1;
    seen.set(p.name, n);
    return n === 1 ? p : { ...p, name: `${p.name}#${n}` };
  });
}
