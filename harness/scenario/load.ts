// Reads a scenario file once, at the boundary: YAML with positions, `--set` overrides, matrix expansion, and zod
// validation of every point. Everything after this works on typed, defaulted Scenario objects.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { BenchError, badInput } from '../../engine/errors.ts';
import { formatIssues } from './issues.ts';
import { scenarioJsonSchema } from './json-schema.ts';
import { locate, type Origin, pathId, type SourceMap } from './locate.ts';
import { expandMatrix, type MatrixKeyError } from './matrix.ts';
import { parseSet, type SetOverride, setAtPath } from './overrides.ts';
import { MatrixSchema, type Scenario, ScenarioSchema } from './schema.ts';

export interface ConfigPoint {
  index: number;
  name: string;
  /** The matrix values of this point, by the key as written (engine.specDepth: 4). */
  overrides: Record<string, unknown>;
  scenario: Scenario; // matrix applied and removed
}

export interface LoadedScenario {
  file: string; // as given, for messages
  dir: string; // relative paths in the scenario (prompt files, baselines) resolve against it
  source: string; // the YAML text, kept in results for reproducibility
  sets: string[]; // the --set overrides applied
  scenario: Scenario; // the first point; name, report and gates are the same in every point
  points: ConfigPoint[];
}

const MAX_MESSAGES = 12;

export function loadScenarioFile(file: string, sets: readonly string[] = []): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BenchError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'BAD_INPUT',
      `cannot read scenario ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}. Check the path (shipped scenarios live in scenarios/).`,
    );
  }
  return loadScenarioText(text, file, sets);
}

export function loadScenarioText(text: string, file: string, sets: readonly string[] = []): LoadedScenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.slice(0, MAX_MESSAGES).map((e) => {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: YAML syntax error: ${e.message.split('\n')[0]}`;
    });
    throw invalid(file, lines);
  }
  const origins = new Map<string, Origin>();
  const src: SourceMap = { file, doc, lineCounter, origins };
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(file, [`${file}:1:1: a scenario is a YAML map with name, target, load (see \`bench schema\`)`]);
  }
  const root = raw as Record<string, unknown>;
  for (const s of sets.map(parseSet)) applySet(root, s, origins);

  const schema = scenarioJsonSchema();
  const matrixCheck = MatrixSchema.optional().safeParse(root.matrix);
  if (!matrixCheck.success) throw invalid(file, formatIssues(matrixCheck.error.issues, root, src, schema, ['matrix']));
  let rawPoints: ReturnType<typeof expandMatrix>;
  try {
    rawPoints = expandMatrix(root.matrix);
  } catch (e) {
    if (!Array.isArray(e)) throw e;
    throw invalid(
      file,
      (e as MatrixKeyError[]).map((m) => `${locateKey(src, m.docPath)}: ${m.docPath.join('.')}: ${m.message}`),
    );
  }

  // message -> the points it occurs in; a problem shared by every point is shown once, without point names.
  const messages = new Map<string, string[]>();
  const target = root.target as Record<string, unknown> | undefined;
  for (const o of rawPoints.flatMap((p) => p.overrides)) {
    if (o.path[0] === 'target' && o.path[1] === 'engine' && target?.url !== undefined && !target.engine) {
      const m = `${locateKey(src, o.docPath.slice(0, 2))}: matrix.${o.key}: engine toggles need an \`engine:\` target; a url target's server configuration cannot be swept from here`;
      messages.set(
        m,
        rawPoints.map((p) => p.name),
      );
    }
  }
  if (messages.size > 0) throw invalid(file, [...messages.keys()]);
  const points: ConfigPoint[] = [];
  for (const [index, p] of rawPoints.entries()) {
    const obj = structuredClone(root);
    delete obj.matrix;
    const pointOrigins = new Map(origins);
    for (const o of p.overrides) {
      setAtPath(obj, o.path, o.value);
      if (!origins.has(pathId(o.docPath))) pointOrigins.set(pathId(o.path), { docPath: o.docPath });
    }
    const parsed = ScenarioSchema.safeParse(obj);
    if (!parsed.success) {
      for (const m of new Set(formatIssues(parsed.error.issues, obj, { ...src, origins: pointOrigins }, schema))) {
        messages.set(m, [...(messages.get(m) ?? []), p.name]);
      }
      continue;
    }
    points.push({
      index,
      name: p.name,
      overrides: Object.fromEntries(p.overrides.map((o) => [o.key, o.value])),
      scenario: parsed.data,
    });
  }
  if (messages.size > 0) {
    const lines = [...messages].map(([m, names]) =>
      names.length === rawPoints.length ? m : `${m} [matrix point${names.length > 1 ? 's' : ''} ${names.join(', ')}]`,
    );
    throw invalid(file, lines);
  }
  const first = points[0] as ConfigPoint;
  checkGateNames(first, points, src);
  return { file, dir: dirname(resolve(file)), source: text, sets: [...sets], scenario: first.scenario, points };
}

/** `between:` gates name configurations; a typo would otherwise surface only after the whole run. */
function checkGateNames(first: ConfigPoint, points: ConfigPoint[], src: SourceMap): void {
  const names = points.map((p) => p.name);
  const lines: string[] = [];
  first.scenario.gates.forEach((g, i) => {
    for (const side of ['base', 'candidate'] as const) {
      const name = g.between?.[side];
      if (name === undefined || names.includes(name)) continue;
      const at = locate(src, ['gates', i, 'between', side]);
      lines.push(`${at}: gates.${i}.between.${side}: no configuration named "${name}"; have: ${names.join(', ')}`);
    }
  });
  if (lines.length > 0) throw invalid(src.file, lines);
}

function applySet(root: Record<string, unknown>, s: SetOverride, origins: Map<string, Origin>): void {
  setAtPath(root, s.path, s.value);
  origins.set(pathId(s.path), { label: `--set ${s.text}` });
}

function locateKey(src: SourceMap, docPath: (string | number)[]): string {
  const origin = src.origins.get(pathId(docPath.slice(0, 2)));
  if (origin?.label) return origin.label;
  const node = src.doc.getIn(docPath.slice(0, -1), true) as { items?: { key: { range?: number[] } }[] } | undefined;
  const last = docPath[docPath.length - 1];
  const pair = node?.items?.find((it) => (it.key as { value?: unknown }).value === last);
  const pos = src.lineCounter.linePos(pair?.key.range?.[0] ?? 0);
  return `${src.file}:${pos.line}:${pos.col}`;
}

function invalid(file: string, lines: string[]): BenchError {
  const shown = lines.slice(0, MAX_MESSAGES);
  const more = lines.length > shown.length ? `\n  ... and ${lines.length - shown.length} more` : '';
  return badInput(
    `invalid scenario ${file}:\n  ${shown.join('\n  ')}${more}\nFix the file (\`bench schema\` prints the JSON Schema for editor completion).`,
  );
}
