// Gates catch a planted regression (a configuration served twice as slowly) and pass an unchanged rerun, both
// between configurations of one run and against a saved baseline, through the functions and the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { saveBaseline } from '../../harness/gates/baseline.ts';
import { evaluateGates } from '../../harness/gates/gate.ts';
import { bootstrapRatio } from '../../harness/gates/stats.ts';
import { statMean } from '../../harness/metrics/summary.ts';
import { runScenario } from '../../harness/run/run.ts';
import { loadScenarioText } from '../../harness/scenario/load.ts';
import { seededRng } from '../../harness/workload/rng.ts';
import { type ChildFake, spawnFake } from './fixtures/spawn-fake.ts';

const CLI = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'bench-gates-'));
let server: ChildFake;
before(async () => {
  // "slow" is the planted regression: every delay doubled. Delays of 10+ ms keep timer noise on a busy machine
  // small against the planted difference.
  server = await spawnFake({ ttftMs: 20, gapMs: 10, usage: 'continuous', slowModels: { slow: 2 } });
});
after(() => server?.close());

const scenario = (models: string, gates = '') => `name: gated
target: { url: ${server.url} }
matrix: { target.model: [${models}] }
workload: { promptTokens: 16, outputTokens: 8 }
load: { concurrency: 2, requests: 24, warmup: 2 }
report: { formats: [] }
${gates}`;

test('between two configurations: the slowed one fails maxRegression, the fast one passes minImprovement', async () => {
  const gates = `gates:
  - { metric: outputTokPerS, between: { base: model=fast, candidate: model=slow }, maxRegression: 5% }
  - { metric: tpotP50Ms, between: { base: model=fast, candidate: model=slow }, maxRegression: 10% }
  - { metric: outputTokPerS, between: { base: model=slow, candidate: model=fast }, minImprovement: 30% }
  - { metric: errorRate, max: 0 }
`;
  const out = await runScenario(loadScenarioText(scenario('fast, slow', gates), 'g.yaml'), {
    outDir: join(tmp, 'between'),
  });
  const [tok, tpot, improve, ...errs] = out.gates;
  assert.equal(tok?.pass, false, tok?.line);
  assert.match(
    tok?.line ?? '',
    /^FAIL outputTokPerS \[model=slow\]: .* vs .* model=fast \(-\d+\.\d%; 90% CI -\d+\.\d%\.\.-\d+\.\d%\), allowed -5\.0%$/,
  );
  assert.equal(tpot?.pass, false, tpot?.line);
  assert.equal(improve?.pass, true, improve?.line);
  assert.equal(errs.length, 2);
  assert.ok(errs.every((g) => g.pass));
  assert.equal(out.exitCode, 1);
});

test('against a baseline: an unchanged rerun passes, a slowed rerun fails (functions and CLI exit codes)', async () => {
  // 20% allowed: runs minutes apart on a shared 2-core machine drift by several per cent; the planted
  // regression halves throughput.
  const gates =
    'gates:\n  - { metric: outputTokPerS, maxRegression: 20% }\n  - { metric: tpotP50Ms, maxRegression: 20% }\n';
  const run = async (name: string, model: string) =>
    (await runScenario(loadScenarioText(scenario(model, gates), 'g.yaml'), { outDir: join(tmp, name) })).results;
  const first = await run('a', 'fast');
  const baseline = join(tmp, 'baseline.json');
  await saveBaseline(first, 'a', baseline);
  const gate = first.scenario.resolved.gates;
  const rerun = await run('b', 'fast');
  // Config names differ between a fast and a slow run; rename so the slow run is gated as the same config.
  const slowed = await run('c', 'slow');
  for (const c of slowed.configs) c.name = 'model=fast';
  const opts = { scenarioDir: tmp, baseline, missingBaseline: 'error' as const };
  const same = evaluateGates(rerun, gate, opts);
  assert.equal(same[0]?.pass, true, same[0]?.line);
  const worse = evaluateGates(slowed, gate, opts);
  assert.equal(worse[0]?.pass, false, worse[0]?.line);

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
  const saved = cli('baseline', 'save', join(tmp, 'a'), join(tmp, 'cli-baseline.json'));
  assert.equal(saved.status, 0, saved.stderr);
  const pass = cli('gate', join(tmp, 'b'), '--baseline', join(tmp, 'cli-baseline.json'));
  assert.equal(pass.status, 0, pass.stdout + pass.stderr);
  assert.match(pass.stdout, /^PASS outputTokPerS \[model=fast\]/m);
  writeFileSync(join(tmp, 'c', 'results.json'), JSON.stringify(slowed));
  const fail = cli('gate', join(tmp, 'c'), '--baseline', join(tmp, 'cli-baseline.json'));
  assert.equal(fail.status, 1, fail.stdout + fail.stderr);
  assert.match(fail.stdout, /^FAIL outputTokPerS \[model=fast\]/m);
  assert.match(fail.stderr, /gate\(s\) failed/);
  const missing = cli('gate', join(tmp, 'b'), '--baseline', join(tmp, 'nope.json'));
  assert.equal(missing.status, 2, 'a missing baseline is bad input');
});

test('bootstrap ratio test: a 10% shift in noisy samples is detected, no shift is not', () => {
  const rng = seededRng(3);
  const noisy = (mean: number) => Array.from({ length: 200 }, () => mean * (0.8 + 0.4 * rng()));
  const base = noisy(100);
  const shifted = bootstrapRatio(base, noisy(90), statMean, 0.05);
  assert.ok(shifted.hi < 0.95, `upper bound ${shifted.hi} should be below 0.95`);
  const same = bootstrapRatio(base, noisy(100), statMean, 0.05);
  assert.ok(same.lo < 1 && same.hi > 1 && same.hi > 0.95, `[${same.lo}, ${same.hi}] should contain 1`);
});
