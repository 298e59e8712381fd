// The `bench` command as users run it: a real child process, real files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpu } from '../../helpers/gpu.ts';

const SHARED = '../shared/models/stories260K';
const noShared = !existsSync(SHARED) && `${SHARED} not found`;

function bench(...args: string[]) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/bench.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

test('llama2.c golden: stories260K, BOS only, greedy, 200 tokens prints the expected text in under 60 s', {
  skip: noShared,
}, () => {
  const r = bench(
    'generate',
    '--model',
    `${SHARED}/stories260K.bin`,
    '--tokenizer',
    `${SHARED}/tok512.bin`,
    '--prompt',
    '',
    '--max-tokens',
    '200',
    '--temperature',
    '0',
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${readFileSync(`${SHARED}/expected-greedy-200.txt`, 'utf8')}\n`);
  assert.ok(r.seconds < 60, `took ${r.seconds.toFixed(1)} s`);
});

test('generate --json on preset:tiny reports real measurements', () => {
  const r = bench(
    'generate',
    '--model',
    'preset:tiny',
    '--prompt',
    'Hello',
    '--max-tokens',
    '24',
    '--ignore-eos',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(j.promptTokenIds, [1, ...[...Buffer.from('Hello')].map((b) => b + 3)]);
  assert.equal(j.tokenIds.length, 24);
  assert.equal(typeof j.text, 'string');
  const s = j.stats;
  assert.equal(s.promptTokens, 6);
  assert.equal(s.generatedTokens, 24);
  for (const k of ['prefillMs', 'decodeMs', 'decodeTokPerS', 'bytesPerToken', 'achievedGBps', 'mbu', 'deviceGBps']) {
    assert.ok(Number.isFinite(s[k]) && s[k] > 0, `${k} = ${s[k]}`);
  }
  assert.ok(s.memory.weightsBytes > 0 && s.memory.kvBytes > 0 && s.memory.scratchBytes > 0);
  assert.ok(s.adapter.length > 0);
  assert.equal(s.synthetic, true);
});

test('--subgroup-matrix: auto reports what ran on this adapter; on where it cannot run is an error', async () => {
  const has = (await gpu()).subgroupMatrix;
  const tiny = ['generate', '--model', 'preset:tiny', '--prompt', 'Hi', '--max-tokens', '4'];
  const auto = bench(...tiny, '--precision', 'f16', '--json');
  assert.equal(auto.code, 0, auto.err);
  assert.equal(JSON.parse(auto.out).stats.toggles.subgroupMatrix, has ? 'on' : 'off');
  // f32 weights have no matrix-unit kernel, on any adapter.
  const f32 = bench(...tiny, '--subgroup-matrix', 'on');
  assert.equal(f32.code, 2, f32.err);
  assert.match(f32.err, /f32 weights have no matrix-unit kernel/);
  if (!has) {
    const on = bench(...tiny, '--precision', 'f16', '--subgroup-matrix', 'on');
    assert.equal(on.code, 2, on.err);
    assert.match(on.err, /has no subgroup-matrix configuration/);
  }
  const bad = bench(...tiny, '--subgroup-matrix', 'yes');
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /auto, on, off|auto\|on\|off/);
});

test('--gpu-checks: off unless asked for, reported, and the same greedy tokens either way', () => {
  const tiny = ['generate', '--model', 'preset:tiny', '--prompt', 'Hi', '--max-tokens', '12', '--ignore-eos', '--json'];
  const runs = [bench(...tiny), bench(...tiny, '--gpu-checks', 'on')];
  for (const r of runs) assert.equal(r.code, 0, r.err);
  const [off, on] = runs.map((r) => JSON.parse(r.out));
  assert.equal(off.stats.toggles.gpuChecks, 'off');
  assert.equal(on.stats.toggles.gpuChecks, 'on');
  // Dawn's checks change what is validated and bounds-checked, not what the kernels compute.
  assert.deepEqual(on.tokenIds, off.tokenIds);
  const bad = bench(...tiny, '--gpu-checks', 'maybe');
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /--gpu-checks/);
});

test('info prints the adapter, features, limits and measured bandwidth', () => {
  const r = bench('info', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.ok(j.adapter.length > 0);
  assert.ok(Array.isArray(j.features));
  assert.ok(j.limits.maxStorageBufferBindingSize > 0);
  assert.ok(j.copyGBps > 0 && j.dispatchUs > 0 && j.submitUs > 0);
});

const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
const truncated = join(dir, 'truncated.bin');
const garbage = join(dir, 'garbage.bin');
if (existsSync(SHARED)) writeFileSync(truncated, readFileSync(`${SHARED}/stories260K.bin`).subarray(0, 100_000));
writeFileSync(garbage, Buffer.from('this is not a model at all, just some text'));

const badInputs: [string, string[], RegExp][] = [
  ['missing file', ['--model', join(dir, 'nope.bin')], /not found/],
  ['unknown preset', ['--model', 'preset:nope'], /preset/],
  ['negative --max-tokens', ['--model', 'preset:tiny', '--max-tokens', '-1'], /--max-tokens/],
  [
    'unknown --batch',
    ['--model', 'preset:tiny', '--batch', 'sometimes'],
    /--batch must be one of none, static, continuous/,
  ],
  ['garbage file', ['--model', garbage], /garbage\.bin/],
];
if (existsSync(SHARED)) {
  badInputs.push(
    ['truncated checkpoint', ['--model', truncated, '--tokenizer', `${SHARED}/tok512.bin`], /truncated/],
    [
      'tokenizer/model vocab mismatch',
      ['--model', `${SHARED}/stories260K.bin`, '--tokenizer', '../shared/models/llama2-tokenizer/tokenizer.bin'],
      /32000.*512|512.*32000/,
    ],
  );
}
for (const [name, args, pattern] of badInputs) {
  test(`bad input: ${name} gives one actionable line and exit code 2`, () => {
    const r = bench('generate', ...args);
    assert.equal(r.code, 2, r.err);
    const lines = r.err.split('\n').filter((l) => l.trim() && !l.startsWith('Warning:'));
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0]!, pattern);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  });
}
