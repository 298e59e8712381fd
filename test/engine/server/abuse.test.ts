// Runs the fuzz/abuse suite against the echo engine, or the engine named by BENCH_SERVER_ENGINE (helpers.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abuseSuite } from './abuse-suite.ts';
import { engineFactoryFromEnv } from './helpers.ts';

const { name, factory } = await engineFactoryFromEnv();

test(`abuse: 1,000+ malformed or hostile requests leave ${name} serving with no KV blocks in use`, async () => {
  const report = await abuseSuite(factory);
  assert.ok(report.total >= 1000, `only ${report.total} hostile requests ran`);
  assert.ok(!Object.keys(report.statuses).some((s) => s.startsWith('5')), JSON.stringify(report.statuses));
  process.stdout.write(`# abuse report: ${JSON.stringify(report)}\n`);
});
