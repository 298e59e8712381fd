// The fuzz/abuse suite against the real WebGPU engine (preset:tiny, continuous batching): the acceptance run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abuseSuite } from './abuse-suite.ts';
import { engineFactory } from './real-engine.ts';

test('abuse: 1,000+ hostile requests leave the WebGPU engine serving, KV blocks back to zero', async () => {
  const report = await abuseSuite(engineFactory);
  assert.ok(report.total >= 1000, `only ${report.total} hostile requests ran`);
  assert.ok(!Object.keys(report.statuses).some((s) => s.startsWith('5')), JSON.stringify(report.statuses));
  process.stdout.write(`# abuse report (WebGPU engine): ${JSON.stringify(report)}\n`);
});
