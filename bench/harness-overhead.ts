// How much the load generator itself costs, side by side on this machine:
//   1. request rate against a trivial HTTP endpoint: autocannon vs the harness's closed loop (same connections);
//   2. streamed completions per second the full harness pipeline sustains (OpenAI SSE, 16 tokens each, usage per
//      chunk) against an endpoint that answers instantly.
// The endpoints run in a child process (`--serve`), so client and server do not share an event loop.
// Usage: node --import tsx bench/harness-overhead.ts [--duration S] [--connections N] [--stream-concurrency N] [--json FILE]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Connections } from '../harness/clients/connections.ts';
import { dispatchRequest } from '../harness/clients/dispatch.ts';
import { RequestTracker } from '../harness/clients/tracker.ts';
import { generateLoad } from '../harness/load/generator.ts';
import { newHistogram, recordMs } from '../harness/metrics/histogram.ts';
import { runScenario } from '../harness/run/run.ts';
import { loadScenarioText } from '../harness/scenario/load.ts';

const TOKENS = 16;
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};

if (process.argv.includes('--serve')) serve();
else await main();

/** The endpoints: GET /ping answers "ok"; POST /v1/completions streams 16 tokens, usage and [DONE] at once. */
function serve(): void {
  const chunks: string[] = [];
  for (let i = 1; i <= TOKENS; i++) {
    const usage = { prompt_tokens: 8, completion_tokens: i, total_tokens: 8 + i };
    chunks.push(
      `data: ${JSON.stringify({ choices: [{ index: 0, text: ' tok', finish_reason: i === TOKENS ? 'length' : null }], usage })}\n\n`,
    );
  }
  chunks.push(
    `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 8, completion_tokens: TOKENS, total_tokens: 8 + TOKENS } })}\n\n`,
    'data: [DONE]\n\n',
  );
  const body = chunks.join('');
  const server = createServer((req, res) => {
    if (req.method === 'GET') return res.end('ok');
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () =>
    console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  );
  setInterval(() => {
    if (process.ppid === 1) process.exit(0);
  }, 500).unref();
}

async function startServer(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      const m = /listening on (\S+)/.exec(d);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function autocannonRate(url: string, connections: number, seconds: number): Promise<number> {
  const r = await autocannon({ url: `${url}/ping`, connections, duration: seconds });
  return r.requests.total / r.duration;
}

/** The harness's closed loop and HTTP core (dispatchRequest) with a plain GET per request, recording latency. */
async function harnessRate(url: string, connections: number, seconds: number): Promise<number> {
  const pool = new Connections(url, connections);
  const h = newHistogram();
  const tracker = new RequestTracker();
  const call = { path: '/ping', method: 'GET' as const, headers: {} };
  let ok = 0;
  const t0 = performance.now();
  await generateLoad(
    { mode: 'closed', concurrency: connections, durationMs: seconds * 1000 },
    async (_i, scheduledAt, signal) => {
      const r = await dispatchRequest(pool, call, undefined, tracker, 10_000, signal);
      recordMs(h, r.endAt - scheduledAt);
      if (r.status === 200 && !r.error) ok++;
    },
  );
  const elapsed = (performance.now() - t0) / 1000;
  tracker.close();
  await pool.close();
  return ok / elapsed;
}

/** The full `bench run` pipeline (scenario, SSE client, per-token metrics, histograms), no report files. */
async function streamingRate(
  url: string,
  concurrency: number,
  seconds: number,
): Promise<{ perS: number; itlCount: number }> {
  const yaml = `name: overhead
target: { url: ${url}, model: m }
workload: { promptTokens: 16, outputTokens: ${TOKENS} }
load: { mode: closed, concurrency: ${concurrency}, duration: ${seconds}s, warmup: 50 }
report: { formats: [] }
`;
  const out = await runScenario(loadScenarioText(yaml, 'overhead.yaml'), {
    outDir: `/tmp/bench-overhead-${process.pid}`,
  });
  const c = out.results.configs[0];
  if (!c || c.summary.requests.failed > 0)
    throw new Error(`streaming run failed: ${JSON.stringify(c?.summary.errors)}`);
  return { perS: c.summary.requestPerS, itlCount: c.summary.itl.count };
}

async function main(): Promise<void> {
  const seconds = Number(arg('--duration', '5'));
  const connections = Number(arg('--connections', '10'));
  const streamConcurrency = Number(arg('--stream-concurrency', '32'));
  const server = await startServer();
  try {
    // Short warm-up of both clients (JIT, connection setup), then the measured runs back to back.
    await autocannonRate(server.url, connections, 1);
    await harnessRate(server.url, connections, 1);
    const ac = await autocannonRate(server.url, connections, seconds);
    const hr = await harnessRate(server.url, connections, seconds);
    const st = await streamingRate(server.url, streamConcurrency, seconds);
    const rows = [
      ['autocannon, GET /ping', `${connections} connections`, ac.toFixed(0), '1.00', ''],
      [
        'harness closed loop, GET /ping',
        `${connections} connections`,
        hr.toFixed(0),
        (hr / ac).toFixed(2),
        hr / ac >= 0.7 ? 'pass (>= 0.70)' : 'FAIL (< 0.70)',
      ],
      [
        `harness streamed completions, ${TOKENS} tokens`,
        `${streamConcurrency} clients`,
        st.perS.toFixed(0),
        '',
        st.perS >= 2000 ? 'pass (>= 2000/s)' : 'FAIL (< 2000/s)',
      ],
    ];
    console.log('\n| measurement | load | req/s | vs autocannon | target |\n| --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    console.log(`\n${seconds} s each, Node ${process.version}; server in a child process on the same machine.`);
    const json = arg('--json', '');
    if (json)
      writeFileSync(
        json,
        JSON.stringify(
          { seconds, connections, streamConcurrency, autocannon: ac, harness: hr, streamedPerS: st.perS },
          null,
          1,
        ),
      );
    if (hr / ac < 0.7 || st.perS < 2000) process.exitCode = 1;
  } finally {
    server.stop();
  }
}
