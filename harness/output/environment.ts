// Where a run happened: versions and machine, recorded in results.json so numbers are never read out of context.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Environment } from './types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function environment(): Environment {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version?: string };
  const env: Environment = {
    harnessVersion: pkg.version ?? 'unknown',
    node: process.version,
    platform: platform(),
    arch: arch(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    memoryBytes: totalmem(),
  };
  const commit = gitCommit();
  if (commit) env.gitCommit = commit;
  return env;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined; // not a git checkout (an npm install): the version is enough
  }
}
