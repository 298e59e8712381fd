// scenarios/ladder.yaml end to end (issue 5): every rung starts its own `bench serve` with its toggles, completes
// its requests, and the report has one row per rung with tok/s, and MBU for every rung but the speculative one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readResults } from '../../harness/output/io.ts';
import { mbuOf } from '../../reports/rows.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('bench run scenarios/ladder.yaml: six rungs, each with its toggles in effect, tok/s and MBU', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ladder-'));
  const sets = ['load.requests=2', 'load.warmup=0', 'workload.outputTokens=16'].flatMap((s) => ['--set', s]);
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/bench.js'), 'run', 'scenarios/ladder.yaml', '--out', dir, ...sets],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      timeout: 150_000,
    },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const results = readResults(dir);
  assert.equal(results.configs.length, 6);
  const inEffect = results.configs.map((c) => {
    const t = c.target.server?.toggles as Record<string, unknown>;
    return [c.status, t.precision, t.quant, t.fusion, t.attention, t.spec];
  });
  assert.deepEqual(inEffect, [
    ['ok', 'f32', 'none', 'off', 'naive', 'none'],
    ['ok', 'f16', 'none', 'off', 'naive', 'none'],
    ['ok', 'f16', 'none', 'on', 'flash', 'none'],
    ['ok', 'f32', 'int8', 'on', 'flash', 'none'],
    ['ok', 'f32', 'int4-g64', 'on', 'flash', 'none'],
    ['ok', 'f32', 'int4-g64', 'on', 'flash', 'draft'],
  ]);
  for (const c of results.configs) assert.ok(c.summary.outputTokPerS > 0, `${c.name} tok/s`);
  // Fewer weight bytes per step down the ladder (f32 -> f16 -> int8 -> int4), as the engine reports them.
  const bytes = results.configs.map((c) => c.target.server?.weightBytesPerToken as number);
  assert.ok(bytes[0]! > bytes[1]! && bytes[2]! > bytes[3]! && bytes[3]! > bytes[4]!, `bytes per step ${bytes}`);
  assert.deepEqual(
    results.configs.map((c) => mbuOf(c) !== undefined),
    [true, true, true, true, true, false],
  );
  assert.ok((results.configs[5]?.summary.spec?.proposed ?? 0) > 0, 'the speculative rung proposed drafts');
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /\| tok\/s \| MBU \|/);
  assert.match(md, /^\| 6 \| 6 int4-g64 \+ speculative \|/m);
});
