// Atomic output for `bench convert`: every file is written under a temporary name beside its destination and renamed
// into place, so an interrupted or failed conversion never leaves a half-written checkpoint where a model was (and
// converting a file onto itself reads the old one until the new one is complete).

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BenchError } from '../errors.ts';

/** File system failures (no such folder, no permission, disk full) are the user's to fix: one BAD_INPUT line. */
function writeError(path: string, e: unknown): unknown {
  if (e instanceof BenchError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === undefined) return e;
  return new BenchError('BAD_INPUT', `cannot write ${path}: ${(e as Error).message}; check the output path`, {
    cause: e,
  });
}

const tempName = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);

/** Calls `write(tmp)` and renames tmp to `path` once it returned; on failure the temporary file is removed. */
export function writeFileAtomically(path: string, write: (tmp: string) => void): void {
  const tmp = tempName(path);
  try {
    write(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
}

/**
 * Calls `write(tmpDir)` and moves its files into `dir`: a new folder appears whole (one rename); into an existing
 * folder each file is renamed over its old version, and files the conversion does not write are left alone.
 */
export function writeFolderAtomically(dir: string, write: (tmpDir: string) => void): void {
  const tmp = tempName(dir);
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw new BenchError('BAD_INPUT', `${dir} exists and is not a folder; choose another output path`);
    }
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    write(tmp);
    if (!existsSync(dir)) renameSync(tmp, dir);
    else {
      for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(dir, f));
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw writeError(dir, e);
  }
}
