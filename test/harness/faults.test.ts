// Faults: the engine server dies mid-run, requests time out, a stream carries malformed JSON, the server answers
// 500, the user presses Ctrl-C, the harness is killed while writing. In every case the run ends, errors are
// counted by kind, and results and reports are written (marked partial where they are) and never half-written.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readResults, writeFileAtomic } from '../../harness/output/io.ts';
import type { ConfigResult, ResultsFile } from '../../harness/output/types.ts';
import { runScenario } from '../../harness/run/run.ts';
import { loadScenarioText } from '../../harness/scenario/load.ts';
import { type FakeServer, startFakeServer } from './fixtures/fake-server.ts';
import { fakeServeCommand } from './fixtures/spawn-fake.ts';

const CLI = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'bench-faults-'));

test('the engine server dies mid-run: that config is partial with connection errors, the next restarts it', async () => {
  const saved = process.env.FAKE_SERVER;
  // The fake `bench serve` kills itself (SIGKILL) when request 13 arrives (request 1 is the warm-up).
  process.env.FAKE_SERVER = JSON.stringify({ ttftMs: 5, gapMs: 3, usage: 'continuous', dieAfter: 12 });
  try {
    const yaml = `name: die
target: { engine: { model: preset:tiny, precision: f16, batch: continuous } }
matrix: { load.requests: [40, 4] }
workload: { promptTokens: 16, outputTokens: 8 }
load: { concurrency: 2 }
report: { formats: [md, csv, html] }
`;
    const dir = join(tmp, 'die');
    const out = await runScenario(loadScenarioText(yaml, 'die.yaml'), {
      outDir: dir,
      serveCommand: fakeServeCommand(),
    });
    const [first, second] = out.results.configs as [ConfigResult, ConfigResult];
    assert.equal(first.status, 'partial');
    assert.match(first.failure ?? '', /bench serve exited \(signal SIGKILL\)/);
    assert.ok(first.summary.errors.connection >= 1, `connection errors: ${JSON.stringify(first.summary.errors)}`);
    assert.ok(first.summary.requests.completed <= 11 && first.summary.requests.completed > 0);
    assert.equal(second.status, 'ok', 'a fresh server is started for the next configuration');
    assert.equal(second.summary.requests.completed, 4);
    assert.equal(out.results.partial, true);
    assert.equal(out.exitCode, 3);
    const disk = readResults(dir);
    assert.equal(disk.partial, true);
    assert.equal(disk.configs.length, 2);
    assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /Partial results/);
    for (const f of ['results.csv', 'report.html']) assert.ok(existsSync(join(dir, f)), f);
    // The toggles reached the server as `bench serve` flags.
    const log = readFileSync(join(dir, 'server-0.log'), 'utf8');
    for (const flag of ['--model preset:tiny', '--precision f16', '--batch continuous', '--host 127.0.0.1']) {
      assert.ok(log.includes(flag), `server log lacks ${flag}:\n${log.slice(0, 400)}`);
    }
  } finally {
    if (saved === undefined) delete process.env.FAKE_SERVER;
    else process.env.FAKE_SERVER = saved;
  }
});

let server: FakeServer;
before(async () => {
  // Request n (1-based): n % 5 hangs, else n % 11 answers 500, else n % 7 breaks its stream with invalid JSON.
  server = await startFakeServer({
    ttftMs: 2,
    gapMs: 1,
    usage: 'continuous',
    hangEvery: 5,
    status500Every: 11,
    malformedEvery: 7,
  });
});
after(() => server?.close());

test('timeouts, HTTP 500 and malformed streams are counted by kind and the run completes', async () => {
  const yaml = `name: kinds
target: { url: ${server.url}, model: m }
workload: { promptTokens: 16, outputTokens: 6 }
load: { concurrency: 3, requests: 30, timeout: 300ms }
report: { formats: [md] }
`;
  const before = server.requests;
  const out = await runScenario(loadScenarioText(yaml, 'kinds.yaml'), { outDir: join(tmp, 'kinds') });
  assert.equal(before, 0, 'this test numbers requests from a fresh server');
  const c = out.results.configs[0] as ConfigResult;
  assert.equal(c.status, 'ok');
  assert.deepEqual(
    { timeout: c.summary.errors.timeout, http5xx: c.summary.errors.http5xx, malformed: c.summary.errors.malformed },
    { timeout: 6, http5xx: 2, malformed: 4 }, // n = 5,10,..,30 | 11,22 | 7,14,21,28
  );
  assert.equal(c.summary.requests.completed, 18);
  assert.equal(c.summary.requests.failed, 12);
  assert.ok(Math.abs(c.summary.errorRate - 12 / 30) < 1e-9);
  assert.match(readFileSync(join(tmp, 'kinds', 'report.md'), 'utf8'), /timeout 6, http5xx 2, malformed 4/);
});

function spawnCli(args: string[]): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, stderr: () => err };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('Ctrl-C: in-flight requests are cancelled and partial results and reports are written (exit 130)', async () => {
  const slow = await startFakeServer({ ttftMs: 5, gapMs: 20, usage: 'continuous' });
  try {
    const file = join(tmp, 'long.yaml');
    writeFileSync(
      file,
      `name: long\ntarget: { url: ${slow.url}, model: m }\nworkload: { outputTokens: 20 }\nload: { concurrency: 4, requests: 100000 }\nreport: { formats: [md, html] }\n`,
    );
    const dir = join(tmp, 'long');
    const run = spawnCli(['run', file, '--out', dir]);
    await waitFor(() => slow.requests >= 12, 20_000);
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 130, run.stderr());
    const r: ResultsFile = readResults(dir);
    assert.equal(r.interrupted, true);
    assert.equal(r.partial, true);
    const c = r.configs[0] as ConfigResult;
    assert.equal(c.status, 'partial');
    assert.ok(c.summary.requests.completed >= 8, `completed ${c.summary.requests.completed}`);
    assert.ok(c.summary.errors.cancelled >= 1, 'requests in flight at Ctrl-C are cancelled, not errors');
    assert.equal(c.summary.requests.failed, 0);
    assert.ok(existsSync(join(dir, 'report.md')) && existsSync(join(dir, 'report.html')));
  } finally {
    await slow.close();
  }
});

test('a harness killed while writing leaves a complete results.json', async () => {
  const fast = await startFakeServer({ ttftMs: 1, usage: 'continuous' });
  try {
    const file = join(tmp, 'many.yaml');
    // 30 short configurations: results.json is rewritten (and grows) every few tens of milliseconds.
    const values = Array.from({ length: 30 }, (_, i) => i + 1).join(', ');
    writeFileSync(
      file,
      `name: many\ntarget: { url: ${fast.url}, model: m }\nmatrix: { workload.seed: [${values}] }\nworkload: { outputTokens: 4 }\nload: { concurrency: 2, requests: 6 }\nreport: { formats: [] }\n`,
    );
    const dir = join(tmp, 'many');
    const run = spawnCli(['run', file, '--out', dir]);
    await waitFor(
      () =>
        existsSync(join(dir, 'results.json')) && readFileSync(join(dir, 'results.json'), 'utf8').includes('"seed=5"'),
      30_000,
    );
    run.child.kill('SIGKILL');
    await run.exited;
    const r = readResults(dir); // throws on a half-written file
    assert.equal(r.partial, true);
    assert.ok(r.configs.length >= 5 && r.configs.length < 30, `configs written: ${r.configs.length}`);
  } finally {
    await fast.close();
  }
});

test('writeFileAtomic: a concurrent reader sees the old or the new file, never a mix', async () => {
  const path = join(tmp, 'atomic.json');
  const big = (n: number) => JSON.stringify({ n, pad: 'x'.repeat(4_000_000) });
  await writeFileAtomic(path, big(0));
  let reading = true;
  let reads = 0;
  const reader = (async () => {
    while (reading) {
      const v = JSON.parse(readFileSync(path, 'utf8')) as { n: number; pad: string };
      assert.equal(v.pad.length, 4_000_000);
      reads++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let i = 1; i <= 10; i++) await writeFileAtomic(path, big(i));
  reading = false;
  await reader;
  assert.ok(reads > 0);
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { n: number }).n, 10);
});
