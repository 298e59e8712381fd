// scenarios/spec-decode-stories.yaml: the speculative decoding sweep on real checkpoints (stories260K, draft
// llama2xs-tok512). The full sweep takes minutes; the test runs a reduced one through `bench run` from another
// directory (model paths are relative to the scenario file), when ../shared/models/stories260K exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readResults } from '../../harness/output/io.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCENARIO = 'scenarios/spec-decode-stories.yaml';
const MODELS = join(ROOT, '../shared/models/stories260K');
const missing = ['stories260K.bin', 'llama2xs-tok512-model.bin', 'tok512.bin'].filter(
  (f) => !existsSync(join(MODELS, f)),
);
const skip =
  missing.length > 0 ? `${MODELS} lacks ${missing.join(', ')} (test data, see ../shared/models/README.md)` : false;

test('the scenario sweeps draft/ngram/layerskip x depth 0,1,2,4,8 x 1 and 8 clients on the shared checkpoints', () => {
  const s = loadScenarioFile(join(ROOT, SCENARIO));
  assert.equal(s.points.length, 3 * 5 * 2);
  assert.deepEqual(
    s.points.slice(0, 3).map((p) => p.name),
    [
      'spec=draft,specDepth=0,concurrency=1',
      'spec=draft,specDepth=0,concurrency=8',
      'spec=draft,specDepth=1,concurrency=1',
    ],
  );
  const e = s.scenario.target.engine;
  assert.equal(e?.model, '../../shared/models/stories260K/stories260K.bin');
  assert.equal(e?.draftModel, '../../shared/models/stories260K/llama2xs-tok512-model.bin');
  assert.equal(s.scenario.workload.temperature, 0);
});

test('bench run on a reduced sweep: every report, acceptance for the draft rows', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stories-spec-'));
  const point = (spec: string, depth: number) => `{engine.spec: ${spec}, engine.specDepth: ${depth}}`;
  const sets = [
    `matrix=[${point('draft', 0)}, ${point('draft', 4)}, ${point('ngram', 4)}, ${point('layerskip', 4)}]`,
    'load.concurrency=2',
    'load.requests=4',
    'load.warmup=0',
    'workload.outputTokens=24',
  ].flatMap((s) => ['--set', s]);
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/bench.js'), 'run', join(ROOT, SCENARIO), '--out', dir, ...sets],
    {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      timeout: 150_000,
    },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  for (const f of ['results.json', 'report.html', 'report.md', 'results.csv', 'chart-spec-depth.png']) {
    assert.ok(existsSync(join(dir, f)), `${f} missing`);
  }
  const results = readResults(dir);
  assert.deepEqual(
    results.configs.map((c) => [c.name, c.status, c.summary.requests.completed]),
    [
      ['spec=draft,specDepth=0', 'ok', 4],
      ['spec=draft,specDepth=4', 'ok', 4],
      ['spec=ngram,specDepth=4', 'ok', 4],
      ['spec=layerskip,specDepth=4', 'ok', 4],
    ],
  );
  const [plain, draft, ngram, layerskip] = results.configs;
  assert.equal(plain?.summary.spec, undefined, 'depth 0 proposes nothing');
  const spec = draft?.summary.spec;
  assert.ok(spec && spec.proposed > 0, 'the draft row proposed drafts');
  assert.ok(spec.acceptance > 0 && spec.acceptance <= 1, `acceptance ${spec.acceptance}`);
  assert.equal(spec.acceptance, spec.accepted / spec.proposed);
  assert.equal(draft?.target.tokenizer.exact, true, "prompt lengths counted with the checkpoint's own tokenizer");
  assert.equal(draft?.summary.tokens.output, 4 * 24);
  // n-gram lookup and layer skip (2 of 5 layers, a model not trained to exit early) propose drafts too; few are kept.
  for (const c of [ngram, layerskip]) assert.ok((c?.summary.spec?.proposed ?? 0) > 0, `${c?.name} proposed drafts`);
  // The relative paths of the scenario, resolved against its folder although bench run ran elsewhere.
  const log = readFileSync(join(dir, 'server-1.log'), 'utf8');
  assert.ok(log.includes(`--model ${join(MODELS, 'stories260K.bin')} `), log);
  assert.ok(
    log.includes(`--spec draft --spec-depth 4 --draft-model ${join(MODELS, 'llama2xs-tok512-model.bin')} `),
    log,
  );
  assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /specDepth=4.*\| \d+(\.\d+)?% \(\d+\/\d+\)/);
});
