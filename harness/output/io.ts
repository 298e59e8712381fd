// Reading and writing results files. Writes are atomic (temp file in the same folder, fsync, rename), so a
// crash or Ctrl-C never leaves a half-written results.json: readers see the old file or the new one.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BenchError, badInput } from '../../engine/errors.ts';
import { RESULTS_KIND, RESULTS_SCHEMA_VERSION, type ResultsFile } from './types.ts';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined); // best effort: the rename error is the one to report
    throw e;
  }
}

export async function writeResults(dir: string, results: ResultsFile): Promise<string> {
  const path = join(dir, 'results.json');
  await writeFileAtomic(path, `${JSON.stringify(results, null, 1)}\n`);
  return path;
}

/** Accepts a results.json path or the run folder that holds one. */
export function resolveResultsPath(p: string): string {
  if (!existsSync(p))
    throw new BenchError('FILE_NOT_FOUND', `${p} does not exist; pass a results.json or a run folder`);
  return statSync(p).isDirectory() ? join(p, 'results.json') : p;
}

export function readResults(p: string): ResultsFile {
  const path = resolveResultsPath(p);
  let v: Partial<ResultsFile>;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as Partial<ResultsFile>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new BenchError('FILE_NOT_FOUND', `${path} does not exist; pass a results.json or a run folder`);
    throw badInput(
      `${path} is not valid JSON (${(e as Error).message}); was the run interrupted before its first write?`,
    );
  }
  if (v.kind !== RESULTS_KIND) throw badInput(`${path} is not a results file (kind is ${JSON.stringify(v.kind)})`);
  if (v.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw badInput(
      `${path} has results schema version ${v.schemaVersion}; this bench reads version ${RESULTS_SCHEMA_VERSION}. Re-run the scenario with this version.`,
    );
  }
  if (!Array.isArray(v.configs)) throw badInput(`${path}: "configs" is missing or not a list`);
  return v as ResultsFile;
}
