// `bench profile`: the per-kernel profile as a verb with every engine toggle, JSON output, clear errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const bench = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/bench.js', 'profile', ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    timeout: 120_000,
  });

test('bench profile --json: a profile per batch size, kernels by name, the toggles in effect', () => {
  const r = bench('--model', 'preset:tiny', '--batches', '1,4', '--context', '40', '--kv-cache', 'f16', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    dispatchesPerStep: number;
    toggles: Record<string, unknown>;
    profiles: { batch: number; context: number; stepMs: number; kernels: { name: string; dispatches: number }[] }[];
  };
  assert.equal(out.toggles.kvCache, 'f16');
  assert.deepEqual(
    out.profiles.map((p) => [p.batch, p.context]),
    [
      [1, 40],
      [4, 40],
    ],
  );
  for (const p of out.profiles) {
    assert.ok(p.stepMs > 0);
    assert.equal(
      p.kernels.reduce((n, k) => n + k.dispatches, 0),
      out.dispatchesPerStep,
      'every dispatch counted once',
    );
    assert.ok(p.kernels.some((k) => k.name === 'w13'));
  }
});

test('bench profile: bad --batches and a context past the model are one-line errors, exit 2', () => {
  const bad = bench('--model', 'preset:tiny', '--batches', '1,x');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--batches must be a comma-separated list of integers/);
  const far = bench('--model', 'preset:tiny', '--context', '5000');
  assert.equal(far.status, 2);
  assert.match(far.stderr, /--context must be below the model's context of 1024/);
});
