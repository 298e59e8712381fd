import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ConfigResult, ResultsFile } from '../../harness/output/types.ts';
import { RunEvents } from '../../harness/run/events.ts';
import { runScenario } from '../../harness/run/run.ts';
import { loadScenarioText } from '../../harness/scenario/load.ts';
import { compareRuns, renderCompare } from '../../reports/compare.ts';
import { attachConsole } from '../../reports/console.ts';
import { renderCsv } from '../../reports/csv.ts';
import { renderMarkdown } from '../../reports/markdown.ts';
import { mbuOf } from '../../reports/rows.ts';
import { startFakeServer } from '../harness/fixtures/fake-server.ts';

const CLI = fileURLToPath(new URL('../harness/cli-entry.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-reports-'));
let results: ResultsFile;
let consoleText = '';

before(async () => {
  const server = await startFakeServer({ ttftMs: 4, gapMs: 1, usage: 'continuous', slowModels: { slow: 3 } });
  try {
    const yaml = `name: rep\ntarget: { url: ${server.url} }\nmatrix: { target.model: [fast, slow] }\nworkload: { promptTokens: 16, outputTokens: 8 }\nload: { concurrency: 2, requests: 10 }\n`;
    const events = new RunEvents();
    const sink = new Writable({
      write(chunk, _enc, cb) {
        consoleText += String(chunk);
        cb();
      },
    });
    attachConsole(events, { out: sink, tty: false });
    results = (await runScenario(loadScenarioText(yaml, 'rep.yaml'), { outDir: dir, events })).results;
  } finally {
    await server.close();
  }
});

test('report.md: the TGI-style table, one row per configuration, latency details', () => {
  const md = renderMarkdown(results);
  assert.ok(
    md.includes(
      '| # | config | GPU | memory | engine | threads | time (s) | speculate | tok/s | MBU | req/s | TTFT p50 (ms) | TTFT p99 (ms) | ITL p50 (ms) | ITL p99 (ms) | e2e p50 (ms) | errors |',
    ),
  );
  assert.match(md, /^\| 1 \| model=fast \| FakeGPU 9000 \| – \| openai: fast \| 2 \|/m);
  assert.match(md, /^\| 2 \| model=slow \|/m);
  assert.match(md, /^\| model=slow \| TTFT \| /m);
  assert.equal(readFileSync(join(dir, 'report.md'), 'utf8'), md);
});

test('results.csv: a header of metric names and the matrix keys, numbers as in results.json', () => {
  const [header, ...rows] = renderCsv(results)
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  assert.equal(rows.length, 2);
  const col = (name: string) => (header as string[]).indexOf(name);
  for (const name of ['name', 'target.model', 'outputTokPerS', 'ttftP99Ms', 'itlP50Ms', 'errors_timeout'])
    assert.ok(col(name) >= 0, name);
  assert.equal(rows[1]?.[col('target.model')], 'slow');
  assert.equal(Number(rows[0]?.[col('outputTokPerS')]), results.configs[0]?.summary.outputTokPerS);
  assert.equal(Number(rows[1]?.[col('ttftP99Ms')]), results.configs[1]?.summary.ttft.p99);
});

test('PNG charts: real PNG files of the configured size', () => {
  for (const id of ['throughput', 'ttft-percentiles', 'itl-percentiles', 'ttft-distribution', 'itl-distribution']) {
    const png = readFileSync(join(dir, `chart-${id}.png`));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], id);
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [960, 480], `${id} size`);
    assert.ok(png.length > 5000, `${id} has content`);
  }
});

test('compare: ratios against the first run, matched by configuration name', () => {
  const slower = structuredClone(results);
  for (const c of slower.configs) c.summary.outputTokPerS /= 2;
  const rows = compareRuns([
    { label: 'a', results },
    { label: 'b', results: slower },
  ]);
  const tok = rows.filter((r) => r.metric === 'outputTokPerS');
  assert.deepEqual(
    tok.map((r) => [r.config, r.ratios[1]]),
    [
      ['model=fast', 0.5],
      ['model=slow', 0.5],
    ],
  );
  assert.match(
    renderCompare([
      { label: 'a', results },
      { label: 'b', results: slower },
    ]),
    /model=fast\s+outputTokPerS\s+\S+\s+\S+\s+0\.500x/,
  );
});

test('console without a TTY: plain progress lines, then the summary table and the files', () => {
  assert.match(consoleText, /^bench run: 2 configuration\(s\), results in /m);
  assert.match(consoleText, /^\[1\/2\] model=fast: 10 requests$/m);
  assert.match(consoleText, /^ {2}done: .* tok\/s, .* req\/s, TTFT p50 .* ms, ITL p50 .* ms, errors 0$/m);
  assert.match(consoleText, /^# +config +GPU +threads/m);
  assert.match(consoleText, /^wrote .*report\.html$/m);
});

const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });

test('CLI: report re-renders, compare overlays, schema prints the JSON Schema', () => {
  const out = join(dir, 'again');
  const r = cli('report', dir, '--format', 'md,csv', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(
    existsSync(join(out, 'report.md')) && existsSync(join(out, 'results.csv')) && !existsSync(join(out, 'report.html')),
  );
  const c = cli('compare', dir, join(dir, 'results.json'), '--out', join(dir, 'cmp'));
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /1\.000x/);
  assert.ok(readFileSync(join(dir, 'cmp', 'compare.html'), 'utf8').includes('bench compare'));
  const s = cli('schema');
  assert.equal(s.status, 0);
  const schema = JSON.parse(s.stdout) as { properties: Record<string, unknown>; required: string[] };
  assert.ok(schema.properties.target && schema.properties.matrix && schema.properties.gates);
  assert.deepEqual(schema.required.sort(), ['load', 'name', 'target']);
});

test('CLI: bad input exits 2 with one clear line', () => {
  const missing = cli('report', join(dir, 'nope'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^bench: .*nope does not exist/m);
  assert.equal(cli('report', dir, '--format', 'pdf').status, 2);
  assert.equal(cli('compare', dir).status, 2);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'name: x\ntarget: { url: http://127.0.0.1:1 }\nload: { requests: ten }\n');
  const run = cli('run', bad);
  assert.equal(run.status, 2);
  assert.match(run.stderr, /bad\.yaml:3:19: load\.requests: expected number, got string "ten"/);
  writeFileSync(join(dir, 'junk.json'), '{"kind": "something else"}');
  assert.equal(cli('gate', join(dir, 'junk.json'), '--baseline', 'x').status, 2);
});

test('MBU column: weight bytes per step x steps per second (1 / median ITL) / device bandwidth; none when speculating', () => {
  const config = (engine: Record<string, unknown>, server: Record<string, unknown>, itlP50: number) =>
    ({
      target: { kind: 'engine', engine, server },
      summary: { itl: { count: 10, p50: itlP50, p99: itlP50 } },
    }) as unknown as ConfigResult;
  const bytes = { weightBytesPerToken: 2e9, deviceGBps: 2000 };
  // 2 ms per step: 500 steps/s x 2 GB = 1 TB/s of 2 TB/s.
  assert.equal(mbuOf(config({ spec: 'none' }, bytes, 2)), 0.5);
  assert.equal(mbuOf(config({}, bytes, 4)), 0.25);
  assert.equal(mbuOf(config({ spec: 'ngram', specDepth: 0 }, bytes, 4)), 0.25, 'depth 0 is plain decoding');
  assert.equal(mbuOf(config({ spec: 'ngram', specDepth: 4 }, bytes, 2)), undefined);
  assert.equal(mbuOf(config({}, { deviceGBps: 2000 }, 2)), undefined, 'a server that does not say');
});
