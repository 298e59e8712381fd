// Turns zod issues into messages that point into the YAML file: "file:line:col: load.mode: unknown value ...".
// Positions come from the `yaml` package's node ranges; allowed keys and values come from the JSON Schema that
// `bench schema` emits, so the message and the editor completion always agree.
import { type Document, isMap, isSeq, type LineCounter, type Node } from 'yaml';
import type { PathKey } from './overrides.ts';

export interface Origin {
  label?: string; // where a value came from when it is not in the file (`--set k=v`)
  docPath?: PathKey[]; // where it sits in the file when it is not at its own path (a matrix value)
}

export interface SourceMap {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  /** Overridden subtrees, keyed by their path joined with "\0". */
  origins: Map<string, Origin>;
}

export const pathId = (path: readonly PathKey[]): string => path.join('\0');
const dotted = (path: readonly PathKey[]): string => (path.length ? path.join('.') : '(top level)');

/** The node at `path`, or the deepest existing ancestor (a missing key is reported at its parent). */
function deepestNode(doc: Document, path: readonly PathKey[], keyOfLast: boolean): Node | undefined {
  let node = doc.contents as Node | null;
  let best: Node | undefined = node ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const k = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
      if (!pair) return best;
      const wantKey = keyOfLast && i === path.length - 1;
      node = (wantKey ? pair.key : pair.value) as Node | null;
    } else if (isSeq(node) && typeof k === 'number') {
      node = (node.items[k] as Node | undefined) ?? null;
    } else {
      return best;
    }
    if (node?.range) best = node;
    else if (node === null) return best;
  }
  return best;
}

/** "file:line:col" (or the override's label) for a path in the expanded scenario. */
export function locate(src: SourceMap, path: readonly PathKey[], keyOfLast = false): string {
  for (let n = path.length; n >= 0; n--) {
    const origin = src.origins.get(pathId(path.slice(0, n)));
    if (!origin) continue;
    if (origin.label) return origin.label;
    if (origin.docPath) return at(src, origin.docPath, false);
  }
  return at(src, path, keyOfLast);
}

function at(src: SourceMap, path: readonly PathKey[], keyOfLast: boolean): string {
  const node = deepestNode(src.doc, path, keyOfLast);
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = src.lineCounter.linePos(offset);
  return `${src.file}:${line}:${col}`;
}

// ---- JSON Schema walking, for allowed keys and values ----

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
  enum?: unknown[];
  const?: unknown;
  description?: string;
};

function schemaAt(root: JsonSchema, path: readonly PathKey[]): JsonSchema[] {
  let nodes = [root];
  for (const k of path) {
    const next: JsonSchema[] = [];
    for (const n of expand(nodes)) {
      if (typeof k === 'number' && n.items) next.push(n.items);
      else if (n.properties?.[k as string]) next.push(n.properties[k as string] as JsonSchema);
      else if (typeof n.additionalProperties === 'object') next.push(n.additionalProperties);
    }
    nodes = next;
  }
  return expand(nodes);
}

function expand(nodes: JsonSchema[]): JsonSchema[] {
  return nodes.flatMap((n) => [n, ...expand([...(n.anyOf ?? []), ...(n.oneOf ?? [])])]);
}

export function allowedKeys(root: JsonSchema, path: readonly PathKey[]): string[] {
  return [...new Set(schemaAt(root, path).flatMap((n) => Object.keys(n.properties ?? {})))].filter(
    (k) => k !== '$schema',
  );
}

export function allowedValues(root: JsonSchema, path: readonly PathKey[]): unknown[] {
  return [...new Set(schemaAt(root, path).flatMap((n) => [...(n.enum ?? []), ...('const' in n ? [n.const] : [])]))];
}

export function describeAt(root: JsonSchema, path: readonly PathKey[]): string | undefined {
  return schemaAt(root, path).find((n) => n.description)?.description;
}

/** The closest allowed name, for "did you mean". */
export function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

export { dotted };
