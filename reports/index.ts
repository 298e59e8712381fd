// Report renderers keyed by format. Reports read results only (a ResultsFile object or results.json).
import type { ResultsFile } from '../harness/results/types.ts';

export async function renderReports(_results: ResultsFile, _dir: string, _formats: readonly string[]): Promise<string[]> {
  return [];
}
