// report.html in headless Chromium (Debian chromium + playwright-core): `bench run scenarios/smoke.yaml` on the
// built-in engine writes every report and its page has no console errors, every chart drew, one table row per
// configuration; and hostile strings from a server and a scenario are shown as text, never run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { readResults } from '../../harness/output/io.ts';
import { runScenario } from '../../harness/run/run.ts';
import { loadScenarioText } from '../../harness/scenario/load.ts';
import { startFakeServer } from '../harness/fixtures/fake-server.ts';

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install chromium)`;

async function withPage(
  file: string,
  fn: (page: Page, errors: string[], requests: string[]) => Promise<void>,
): Promise<void> {
  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => errors.push(`dialog: ${d.message()}`));
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(`file://${resolve(file)}`);
    await page.waitForLoadState('load');
    await fn(page, errors, requests);
  } finally {
    await browser.close();
  }
}

/** No console errors, no network, every chart drew (painted pixels), one summary row per configuration. */
async function checkReport(
  page: Page,
  errors: string[],
  requests: string[],
  configs: number,
  minCharts: number,
): Promise<void> {
  assert.deepEqual(errors, [], 'console errors');
  assert.deepEqual(requests, [], 'the page must not fetch anything');
  const charts = await page.evaluate(() =>
    [...document.querySelectorAll('canvas')].map((c) => {
      const ctx = (c as HTMLCanvasElement).getContext('2d') as CanvasRenderingContext2D;
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) painted++;
      return { id: c.id, drawn: c.getAttribute('data-drawn'), painted, width: c.width };
    }),
  );
  assert.ok(charts.length >= minCharts, `charts: ${charts.map((c) => c.id).join(', ')}`);
  for (const c of charts) {
    assert.equal(c.drawn, '1', `${c.id} was not drawn`);
    assert.ok(c.width > 100 && c.painted > 2000, `${c.id} looks blank (${c.painted} painted pixels)`);
  }
  const rows = await page.$$eval('#summary tbody tr', (trs) => trs.length);
  assert.equal(rows, configs, 'one row per configuration');
}

test('bench run scenarios/smoke.yaml writes every report; report.html renders in Chromium', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/bench.js'), 'run', join(ROOT, 'scenarios/smoke.yaml'), '--out', dir],
    {
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  for (const f of [
    'results.json',
    'report.html',
    'report.md',
    'results.csv',
    'chart-throughput.png',
    'chart-ttft-distribution.png',
  ]) {
    assert.ok(existsSync(join(dir, f)), `${f} missing`);
  }
  const pngs = readdirSync(dir).filter((f) => f.endsWith('.png'));
  for (const p of pngs)
    assert.deepEqual([...readFileSync(join(dir, p)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${p} is a PNG`);
  const configs = readResults(dir).configs.length;
  assert.equal(configs, 2);
  await withPage(join(dir, 'report.html'), (page, errors, requests) =>
    checkReport(page, errors, requests, configs, pngs.length),
  );
});

test('report.html shows hostile strings as text and sorts its table', { skip }, async () => {
  const server = await startFakeServer({ ttftMs: 3, gapMs: 1, tokensPerChunk: [1, 2], usage: 'continuous' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-html-'));
  try {
    const yaml = `name: html
target: { url: ${server.url} }
matrix: { target.model: [plain, ${JSON.stringify(HOSTILE)}], load.concurrency: [1, 2] }
workload: { promptTokens: 16, outputTokens: 8 }
load: { requests: 8 }
report: { formats: [html] }
`;
    const out = await runScenario(loadScenarioText(yaml, 'html.yaml'), { outDir: dir });
    assert.equal(out.results.configs.length, 4);
    await withPage(join(dir, 'report.html'), async (page, errors, requests) => {
      await checkReport(page, errors, requests, 4, 6);
      const names = await page.$$eval('#summary tbody tr', (trs) =>
        trs.map((tr) => (tr.children[1] as HTMLElement).textContent),
      );
      assert.ok(
        names.some((r) => r?.includes(HOSTILE)),
        'the hostile model name is shown as text',
      );
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0, 'no injected elements');
      assert.ok((await page.textContent('body'))?.includes('fake-model <b>&'), 'server /info strings are escaped');
      assert.equal(await page.$$eval('b', (bs) => bs.length), 0, 'no injected <b>');

      // Sorting: click "tok/s" twice for descending order; the column's values must then be non-increasing.
      const col = await page.$$eval('#summary thead th', (ths) => ths.findIndex((th) => th.textContent === 'tok/s'));
      await page.click(`#summary thead th:nth-child(${col + 1})`);
      await page.click(`#summary thead th:nth-child(${col + 1})`);
      const values = await page.$$eval(`#summary tbody td:nth-child(${col + 1})`, (tds) =>
        tds.map((td) => Number(td.getAttribute('data-v'))),
      );
      assert.deepEqual(
        values,
        [...values].sort((a, b) => b - a),
      );
    });
  } finally {
    await server.close();
  }
});
