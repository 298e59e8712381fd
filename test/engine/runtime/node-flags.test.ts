// The engine's V8 flags (engine/runtime/node-flags.ts) reach every way the engine is started: the harness's
// `bench serve` children (harness/targets/engine.ts passes them), bin/bench.js's shebang, and the npm scripts that
// run the engine or its benchmarks. The flag must also be one this Node accepts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENGINE_NODE_FLAGS } from '../../../engine/runtime/node-flags.ts';

const flags = ENGINE_NODE_FLAGS.join(' ');

test('bin/bench.js and the engine npm scripts start node with the engine flags', () => {
  const shebang = readFileSync('bin/bench.js', 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
  const scripts: Record<string, string> = JSON.parse(readFileSync('package.json', 'utf8')).scripts;
  for (const name of ['bench', 'bench:decode', 'bench:batching', 'bench:spec', 'bench:throughput', 'bench:profile']) {
    assert.ok(scripts[name]?.startsWith(`node ${flags} `), `npm script ${name}: ${scripts[name]}`);
  }
});

test('node accepts the engine flags', () => {
  const r = spawnSync(process.execPath, [...ENGINE_NODE_FLAGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
