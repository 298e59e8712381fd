import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decode } from '../../../harness/metrics/histogram.ts';
import { runScenario } from '../../../harness/run/run.ts';
import { loadScenarioText } from '../../../harness/scenario/load.ts';
import { buildCharts } from '../../../reports/charts.ts';
import { type FakeServer, startFakeServer } from '../fixtures/fake-server.ts';
import { fakeServeCommand } from '../fixtures/spawn-fake.ts';

const tmp = mkdtempSync(join(tmpdir(), 'bench-run-'));
let server: FakeServer;
before(async () => {
  server = await startFakeServer({ ttftMs: 3, gapMs: 1, usage: 'continuous' });
});
after(() => server?.close());

test('repeats: histograms merge, rates average, bootstrap intervals over repeats', async () => {
  const yaml = `name: rep\ntarget: { url: ${server.url}, model: m }\nworkload: { outputTokens: 6 }\nload: { concurrency: 2, requests: 10, repeats: 3 }\nreport: { formats: [] }\n`;
  const out = await runScenario(loadScenarioText(yaml, 'rep.yaml'), { outDir: join(tmp, 'rep') });
  const c = out.results.configs[0];
  assert.ok(c);
  assert.equal(c.repeats.length, 3);
  assert.equal(c.summary.requests.measured, 30);
  assert.equal(decode(c.histograms.ttft).totalCount, 30, 'merged TTFT histogram holds every repeat');
  assert.equal(decode(c.histograms.itl).totalCount, 30 * 5);
  const mean = c.repeats.reduce((s, r) => s + r.summary.outputTokPerS, 0) / 3;
  assert.ok(Math.abs(c.summary.outputTokPerS - mean) < 1e-9);
  const ci = c.summary.ci?.outputTokPerS;
  assert.ok(ci && ci[0] <= mean && mean <= ci[1], JSON.stringify(ci));
  assert.ok(c.summary.ci?.ttftP50Ms);
});

test('the API key is sent, and written nowhere', async () => {
  const key = 'sk-test-secret-1234567890';
  process.env.BENCH_TEST_KEY = key;
  const probe = await startFakeServer({ ttftMs: 1, usage: 'continuous', requireKey: key });
  try {
    const yaml = `name: key\ntarget: { url: ${probe.url}, model: m, apiKeyEnv: BENCH_TEST_KEY }\nworkload: { outputTokens: 3 }\nload: { requests: 3 }\n`;
    const dir = join(tmp, 'key');
    const out = await runScenario(loadScenarioText(yaml, 'key.yaml'), { outDir: dir });
    assert.equal(out.results.configs[0]?.summary.requests.completed, 3);
    for (const f of readdirSync(dir)) {
      assert.ok(!readFileSync(join(dir, f)).includes(key), `${f} contains the API key`);
    }
    delete process.env.BENCH_TEST_KEY;
    await assert.rejects(
      runScenario(loadScenarioText(yaml, 'key.yaml'), { outDir: join(tmp, 'nokey') }),
      /BENCH_TEST_KEY \(target.apiKeyEnv\) is not set/,
    );
  } finally {
    await probe.close();
  }
});

test('an engine sweep over specDepth: one server per point, acceptance from /metrics, the spec chart', async () => {
  const saved = process.env.FAKE_SERVER;
  process.env.FAKE_SERVER = JSON.stringify({ ttftMs: 2, gapMs: 1, usage: 'continuous' });
  try {
    const yaml = `name: spec\ntarget: { engine: { model: preset:tiny, spec: draft, draftModel: preset:tiny-draft } }\nmatrix: { engine.specDepth: [0, 2, 4] }\nworkload: { promptTokens: 24, outputTokens: 6 }\nload: { requests: 4 }\nreport: { formats: [] }\n`;
    const dir = join(tmp, 'spec');
    const out = await runScenario(loadScenarioText(yaml, 'spec.yaml'), {
      outDir: dir,
      serveCommand: fakeServeCommand(),
    });
    assert.deepEqual(
      out.results.configs.map((c) => [c.name, c.status, c.summary.spec?.acceptance]),
      [
        ['specDepth=0', 'ok', 0.75],
        ['specDepth=2', 'ok', 0.75],
        ['specDepth=4', 'ok', 0.75],
      ],
    );
    const logs = readdirSync(dir).filter((f) => f.startsWith('server-'));
    assert.equal(logs.length, 3, 'a server per engine configuration');
    assert.match(readFileSync(join(dir, 'server-0.log'), 'utf8'), /--spec none/);
    assert.match(
      readFileSync(join(dir, 'server-2.log'), 'utf8'),
      /--spec draft --spec-depth 4 --draft-model preset:tiny-draft/,
    );
    // Exact prompt lengths for presets: the byte-level tokenizer's count is what the server reports.
    const r = out.results.configs[1]?.requests[0];
    assert.equal(r?.promptTokens, 24);
    const charts = buildCharts([{ label: '', results: out.results }]);
    const spec = charts.find((c) => c.id === 'spec-depth');
    assert.ok(spec, `charts: ${charts.map((c) => c.id).join(', ')}`);
    const datasets = (spec.config.data as { datasets: { label: string; data: { x: number }[] }[] }).datasets;
    assert.deepEqual(
      datasets.map((d) => d.label),
      ['output tok/s', 'acceptance rate'],
    );
    assert.deepEqual(
      datasets[0]?.data.map((p) => p.x),
      [0, 2, 4],
    );
  } finally {
    if (saved === undefined) delete process.env.FAKE_SERVER;
    else process.env.FAKE_SERVER = saved;
  }
});
