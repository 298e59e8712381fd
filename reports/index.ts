// Report renderers keyed by format (quality rule 5). Reports read results only: a ResultsFile object or a
// results.json on disk; they never reach into a running harness.
import { join } from 'node:path';
import { badInput } from '../engine/errors.ts';
import { writeFileAtomic, writeResults } from '../harness/output/io.ts';
import type { ResultsFile } from '../harness/output/types.ts';
import { buildCharts } from './charts.ts';
import { renderCsv } from './csv.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';

type Renderer = (results: ResultsFile, dir: string) => Promise<string[]>;

const text =
  (file: string, render: (r: ResultsFile) => string): Renderer =>
  async (results, dir) => {
    const path = join(dir, file);
    await writeFileAtomic(path, render(results));
    return [path];
  };

export const REPORTERS: Record<string, Renderer> = {
  json: async (results, dir) => [await writeResults(dir, results)],
  md: text('report.md', renderMarkdown),
  csv: text('results.csv', renderCsv),
  html: text('report.html', (r) => renderHtml([{ label: '', results: r }])),
  // Loaded on demand: the canvas binary is not needed by the engine verbs (and GPU hosts may not carry it).
  png: async (results, dir) => (await import('./png.ts')).writePngs(buildCharts([{ label: '', results }]), dir),
};

export const REPORT_FORMAT_NAMES = Object.keys(REPORTERS);

/** Writes the requested formats into `dir`; returns the files written. */
export async function renderReports(results: ResultsFile, dir: string, formats: readonly string[]): Promise<string[]> {
  const unknown = formats.filter((f) => !REPORTERS[f]);
  if (unknown.length > 0)
    throw badInput(`unknown report format ${unknown.join(', ')}; known: ${REPORT_FORMAT_NAMES.join(', ')}`);
  const files: string[] = [];
  for (const f of formats) files.push(...(await (REPORTERS[f] as Renderer)(results, dir)));
  return files;
}

export { buildCharts, type ChartSpec, type Run } from './charts.ts';
export { compareRuns, renderCompare } from './compare.ts';
export { attachConsole, summaryTable } from './console.ts';
export { renderCsv } from './csv.ts';
export { renderHtml } from './html.ts';
export { renderMarkdown } from './markdown.ts';
