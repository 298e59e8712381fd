// bench/decode.ts runs each format in a process of its own and gathers their rows into one table; a format that
// fails fails the benchmark, naming it. (Its figures are the GPU's; here only the plumbing, on preset:tiny.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const run = (formats: string) =>
  spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/decode.ts',
      '--models',
      'preset:tiny',
      '--formats',
      formats,
      '--tokens',
      '8',
      '--prompt-tokens',
      '4',
      '--runs',
      '1',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );

test('bench/decode.ts: a process per format, one table, ratios to the first format', () => {
  const r = run('f32,int8');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /each format in a process of its own/);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('| preset:tiny'));
  assert.deepEqual(
    rows.map((l) => l.split('|')[2]!.trim()),
    ['f32', 'int8'],
  );
  const [f32, int8] = rows.map((l) => l.split('|').map((c) => c.trim()));
  assert.equal(f32![4], '1.00x');
  const ratio = Number(int8![3]) / Number(f32![3]);
  assert.ok(Math.abs(Number(int8![4]!.replace('x', '')) - ratio) < 0.01, `${int8![4]} against ${ratio}`);
});

test('bench/decode.ts: a format that fails fails the benchmark, naming it', () => {
  const r = run('f32,int9');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown format 'int9'/);
  assert.match(r.stderr, /bench\/decode\.ts --formats int9 failed/);
});
