// The scenarios shipped in scenarios/ load and expand; engine toggles reach `bench serve` as its kebab-case flags.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, loadScenarioText } from '../../../harness/scenario/load.ts';
import { serveArgs } from '../../../harness/targets/engine.ts';

const DIR = fileURLToPath(new URL('../../../scenarios/', import.meta.url));

test('every shipped scenario is valid', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  for (const required of ['smoke.yaml', 'concurrency.yaml', 'precision.yaml', 'batching.yaml', 'remote-openai.yaml']) {
    assert.ok(files.includes(required), `${required} is shipped`);
  }
  for (const f of files) {
    const s = loadScenarioFile(join(DIR, f));
    assert.ok(s.points.length > 0, f);
  }
  const concurrency = loadScenarioFile(join(DIR, 'concurrency.yaml'));
  assert.deepEqual(
    concurrency.points.map((p) => p.scenario.load.concurrency),
    [1, 2, 4, 8, 16, 32, 64, 128, 256],
  );
});

const TABLE: { engine: string; args: string[] }[] = [
  {
    engine:
      '{ model: preset:tiny, precision: f16, kvCache: f16, workgroupSize: 64, maxNumTokens: 256, prefillChunk: 32 }',
    args: [
      '--precision',
      'f16',
      '--kv-cache',
      'f16',
      '--workgroup-size',
      '64',
      '--max-num-tokens',
      '256',
      '--prefill-chunk',
      '32',
    ],
  },
  {
    engine: '{ model: preset:tiny, quant: int4, groupSize: 32, asymmetric: true }',
    args: ['--quant', 'int4', '--group-size', '32', '--asymmetric'],
  },
  {
    engine: '{ model: preset:tiny, spec: draft, specDepth: 4, draftModel: preset:tiny-draft }',
    args: ['--spec', 'draft', '--spec-depth', '4', '--draft-model', 'preset:tiny-draft'],
  },
  { engine: '{ model: preset:tiny, spec: ngram, specDepth: 0 }', args: ['--spec', 'none'] },
  {
    engine: '{ model: preset:tiny, fusion: true, adapter: llvmpipe, maxQueue: 64, args: [--x, y] }',
    args: ['--fusion', 'on', '--adapter', 'llvmpipe', '--max-queue', '64', '--x', 'y'],
  },
];

for (const row of TABLE) {
  test(`serve flags for ${row.engine}`, () => {
    const s = loadScenarioText(`name: t\ntarget: { engine: ${row.engine} }\nload: { requests: 1 }\n`, 't.yaml');
    const argv = serveArgs(s.scenario.target, 4321);
    assert.deepEqual(argv.slice(0, 6), ['--model', 'preset:tiny', '--port', '4321', '--host', '127.0.0.1']);
    assert.deepEqual(argv.slice(6), row.args);
  });
}
