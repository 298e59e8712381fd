// The speculative decoding chart: tok/s against depth per configuration and acceptance against depth per method
// (second axis 0..1), from runs of two methods at two concurrencies; drawn as a PNG and in the HTML report.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { ConfigResult, ResultsFile } from '../../harness/output/types.ts';
import { runScenario } from '../../harness/run/run.ts';
import { loadScenarioText } from '../../harness/scenario/load.ts';
import { buildCharts, type ChartSpec, type Run } from '../../reports/charts.ts';
import { renderHtml } from '../../reports/html.ts';
import { renderPng } from '../../reports/png.ts';
import { startFakeServer } from '../harness/fixtures/fake-server.ts';

const CHROMIUM = '/usr/bin/chromium';

// method -> depth -> concurrency -> [output tok/s, drafts proposed, drafts accepted]; depth 0 proposes nothing.
const INPUT: Record<string, Record<number, Record<number, [number, number, number]>>> = {
  ngram: {
    0: { 1: [100, 0, 0], 8: [400, 0, 0] },
    1: { 1: [130, 100, 70], 8: [480, 300, 250] },
    2: { 1: [150, 200, 100], 8: [520, 600, 300] },
    4: { 1: [140, 400, 100], 8: [500, 1200, 300] },
  },
  draft: {
    0: { 1: [100, 0, 0], 8: [400, 0, 0] },
    1: { 1: [160, 100, 90], 8: [600, 300, 270] },
    2: { 1: [190, 200, 160], 8: [700, 600, 480] },
    4: { 1: [210, 400, 240], 8: [720, 1200, 720] },
  },
};
// Acceptance per method and depth over both concurrencies: (accepted c1 + c8) / (proposed c1 + c8), by hand.
const EXPECTED_ACCEPTANCE: Record<string, [number, number][]> = {
  ngram: [
    [1, 0.8],
    [2, 0.5],
    [4, 0.25],
  ],
  draft: [
    [1, 0.9],
    [2, 0.8],
    [4, 0.6],
  ],
};

interface Dataset {
  label: string;
  data: { x: number; y: number | null }[];
  yAxisID?: string;
  borderDash?: number[];
  borderColor?: string;
}

let template: ConfigResult;
let results: ResultsFile;

before(async () => {
  const server = await startFakeServer({ ttftMs: 2, gapMs: 1, usage: 'continuous' });
  try {
    const yaml = `name: spec-chart\ntarget: { url: ${server.url}, model: m }\nworkload: { promptTokens: 8, outputTokens: 4 }\nload: { requests: 2 }\nreport: { formats: [] }\n`;
    const dir = mkdtempSync(join(tmpdir(), 'bench-spec-chart-'));
    results = (await runScenario(loadScenarioText(yaml, 'spec-chart.yaml'), { outDir: dir })).results;
  } finally {
    await server.close();
  }
  template = results.configs[0] as ConfigResult;
  const configs: ConfigResult[] = [];
  for (const [method, byDepth] of Object.entries(INPUT))
    for (const [depth, byClients] of Object.entries(byDepth))
      for (const [clients, [tokS, proposed, accepted]] of Object.entries(byClients)) {
        const c = structuredClone(template);
        c.index = configs.length;
        c.name = `spec=${method},specDepth=${depth},concurrency=${clients}`;
        c.overrides = { 'engine.spec': method, 'engine.specDepth': Number(depth), 'load.concurrency': Number(clients) };
        c.summary.outputTokPerS = tokS;
        if (proposed > 0) c.summary.spec = { proposed, accepted, acceptance: accepted / proposed };
        else delete c.summary.spec;
        configs.push(c);
      }
  results = { ...results, configs };
});

function specChart(runs: Run[]): ChartSpec {
  const spec = buildCharts(runs).find((c) => c.id === 'spec-depth');
  assert.ok(spec, 'a spec-depth chart');
  return spec;
}
const datasetsOf = (c: ChartSpec) => (c.config.data as { datasets: Dataset[] }).datasets;
const close = (a: number | null | undefined, b: number) => a !== null && a !== undefined && Math.abs(a - b) < 1e-12;

test('spec chart: tok/s vs depth per method and concurrency, acceptance vs depth per method on a 0..1 axis', () => {
  const spec = specChart([{ label: '', results }]);
  const ds = datasetsOf(spec);
  assert.deepEqual(
    ds.map((d) => d.label),
    [
      'tok/s (ngram, concurrency=1)',
      'tok/s (ngram, concurrency=8)',
      'tok/s (draft, concurrency=1)',
      'tok/s (draft, concurrency=8)',
      'acceptance (ngram)',
      'acceptance (draft)',
    ],
  );
  for (const [method, byDepth] of Object.entries(INPUT))
    for (const clients of [1, 8]) {
      const line = ds.find((d) => d.label === `tok/s (${method}, concurrency=${clients})`);
      assert.deepEqual(
        line?.data,
        Object.entries(byDepth).map(([depth, byClients]) => ({ x: Number(depth), y: byClients[clients]?.[0] })),
        `${method} at ${clients} clients`,
      );
      assert.equal(line?.yAxisID, 'y');
    }
  for (const [method, expected] of Object.entries(EXPECTED_ACCEPTANCE)) {
    const line = ds.find((d) => d.label === `acceptance (${method})`);
    assert.ok(line, `acceptance (${method}) missing`);
    assert.equal(line.yAxisID, 'y2');
    assert.ok(line.borderDash && line.borderDash.length > 0, 'acceptance is dashed');
    assert.deepEqual(
      line.data.map((p) => p.x),
      expected.map(([x]) => x),
      'no acceptance point at depth 0 (nothing proposed)',
    );
    for (const [i, [x, y]] of expected.entries())
      assert.ok(close(line.data[i]?.y, y), `${method} depth ${x}: ${line.data[i]?.y} != ${y}`);
    const tok = ds.find((d) => d.label === `tok/s (${method}, concurrency=1)`);
    assert.equal(line.borderColor, tok?.borderColor, 'a method keeps one colour');
  }
  assert.notEqual(
    ds.find((d) => d.label === 'acceptance (ngram)')?.borderColor,
    ds.find((d) => d.label === 'acceptance (draft)')?.borderColor,
  );
  const scales = (spec.config.options as { scales: Record<string, Record<string, unknown>> }).scales;
  assert.equal(scales.y2?.min, 0);
  assert.equal(scales.y2?.max, 1);
  assert.equal(scales.y2?.position, 'right');
});

test('spec chart overlays runs with their labels (bench compare)', () => {
  const labels = datasetsOf(
    specChart([
      { label: 'a', results },
      { label: 'b', results },
    ]),
  ).map((d) => d.label);
  for (const l of ['a: acceptance (ngram)', 'b: acceptance (draft)', 'a: tok/s (draft, concurrency=8)'])
    assert.ok(labels.includes(l), `${l} in ${labels.join(' | ')}`);
  assert.ok(labels.length <= 12, 'at most 12 series');
  assert.equal(labels.filter((l) => l.includes('acceptance')).length, 4, 'acceptance lines stay when series are cut');
});

test('spec chart draws as a PNG and in report.html (Chromium), with the acceptance axis', async (t) => {
  const png = renderPng(specChart([{ label: '', results }]));
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.ok(png.length > 5000, 'the PNG has content');
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} not installed (apt-get install chromium)`);
    return;
  }
  const file = join(mkdtempSync(join(tmpdir(), 'bench-spec-html-')), 'report.html');
  writeFileSync(file, renderHtml([{ label: '', results }]));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${file}`);
    await page.waitForLoadState('load');
    const drawn = await page.evaluate(() => {
      const canvas = document.getElementById('chart-spec-depth') as HTMLCanvasElement | null;
      type Drawn = { data: { datasets: { label: string }[] }; scales: Record<string, { min: number; max: number }> };
      const chart = canvas && (window as unknown as { Chart: { getChart(c: unknown): Drawn } }).Chart.getChart(canvas);
      if (!canvas || !chart) return undefined;
      return {
        drawn: canvas.getAttribute('data-drawn'),
        labels: chart.data.datasets.map((d) => d.label),
        y2: [chart.scales.y2?.min, chart.scales.y2?.max],
      };
    });
    assert.deepEqual(errors, []);
    assert.ok(drawn, 'the spec-depth chart is on the page');
    assert.equal(drawn.drawn, '1');
    assert.ok(drawn.labels.includes('acceptance (ngram)') && drawn.labels.includes('acceptance (draft)'));
    assert.deepEqual(drawn.y2, [0, 1]);
  } finally {
    await browser.close();
  }
});
