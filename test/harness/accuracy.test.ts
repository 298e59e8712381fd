// Measurement accuracy: a server (own process, sub-millisecond scheduling) streams tokens on a known schedule,
// including multi-token chunks and a stall; the harness must measure TTFT, per-token ITL and TPOT within 1 ms
// (median) of that schedule. And under an open-loop rate the server cannot sustain, tail latency must be the
// coordinated-omission-correct one, whether the queue builds in the server or in the client.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { quantile } from 'simple-statistics';
import type { ConfigResult } from '../../harness/output/types.ts';
import { runScenario } from '../../harness/run/run.ts';
import { loadScenarioText } from '../../harness/scenario/load.ts';
import { requestSource } from '../../harness/workload/prompts.ts';
import { approximateTokenizer } from '../../harness/workload/tokenizer.ts';
import type { FakeOptions, TruthEntry } from './fixtures/fake-server.ts';
import { type ChildFake, spawnFake } from './fixtures/spawn-fake.ts';

const TMP = mkdtempSync(join(tmpdir(), 'bench-accuracy-'));
const OUT = 24;
const SCHEDULE: FakeOptions = {
  ttftMs: 40,
  gapMs: [8, 12, 6, 10],
  tokensPerChunk: [1, 1, 3, 1, 2, 1, 1, 4],
  stall: { chunk: 6, ms: 120 },
  precise: true,
};

const median = (xs: number[]) => quantile(xs, 0.5);

/**
 * Timing on a shared 2-core machine: another process can deschedule the client or the server for tens of ms.
 * A systematic error fails every attempt; a scheduling accident does not repeat three times.
 */
async function attempts(t: TestContext, fn: () => Promise<void>, tries = 3): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= tries || !(e instanceof assert.AssertionError)) throw e;
      t.diagnostic(`attempt ${i} failed (load average ${loadavg()[0]?.toFixed(1)}): ${e.message}`);
    }
  }
}

interface Run {
  c: ConfigResult;
  truth: TruthEntry[];
  heads: string[]; // prompt head of request i, to find its server-side entry
}

async function measure(server: ChildFake, extra = ''): Promise<Run> {
  const yaml = `name: accuracy
target: { url: ${server.url}, model: m }
workload: { promptTokens: 16, outputTokens: ${OUT} }
load: { mode: closed, concurrency: 2, requests: 12, warmup: 2${extra} }
report: { formats: [] }
`;
  const loaded = loadScenarioText(yaml, 'accuracy.yaml');
  const out = await runScenario(loaded, { outDir: join(TMP, 'accuracy'), keepChunks: true });
  const c = out.results.configs[0] as ConfigResult;
  assert.equal(c.status, 'ok');
  assert.equal(c.summary.requests.completed, 12);
  const truth = JSON.parse(await (await fetch(`${server.url}/truth`)).text()) as TruthEntry[];
  const source = requestSource(loaded.scenario.workload, approximateTokenizer(), '.');
  const heads = c.requests.map((r) => source(r.i).prompt.slice(0, 16));
  return { c, truth, heads };
}

/**
 * Truth is what the server did, timed on CLOCK_MONOTONIC (shared by both processes): so the error below is the
 * harness's own (timestamping, parsing, scheduling) plus the loopback transfer no client can avoid.
 */
function checkAgainstTruth({ c, truth, heads }: Run, label: string) {
  const mono0 = c.repeats[0]?.monotonicStartMs as number;
  const measured = c.requests.filter((r) => r.phase === 'measured');
  const ttftErr: number[] = [];
  const chunkErr: number[] = [];
  const truthItl: number[] = [];
  const serverTtft: number[] = [];
  for (const r of measured) {
    // The last match: a retried attempt sends the same prompts to the same server again.
    const t = truth.filter((e) => e.head === heads[r.i]).pop() as TruthEntry;
    assert.ok(t, `${label}: request ${r.i} not seen by the server`);
    const scheduledHr = mono0 + r.scheduledMs;
    ttftErr.push(Math.abs((r.ttftMs as number) - ((t.writesHr[0] as number) - scheduledHr)));
    const ms = r.chunkMs as number[];
    assert.deepEqual(r.chunkTokens, t.tokens, `${label}: tokens per chunk`);
    for (const [k, m] of ms.entries()) chunkErr.push(Math.abs(m - ((t.writesHr[k] as number) - scheduledHr)));
    t.writesHr.forEach((w, k) => {
      const n = t.tokens[k] as number;
      const gap = k === 0 ? 0 : w - (t.writesHr[k - 1] as number);
      for (let j = k === 0 ? 1 : 0; j < n; j++) truthItl.push(gap / n);
    });
    serverTtft.push((t.writesHr[0] as number) - t.arrivalHr);
  }
  // The server kept to its schedule (so the test exercises what it claims: 40 ms TTFT, multi-token chunks, a stall).
  assert.ok(Math.abs(median(serverTtft) - 40) < 5, `${label}: server TTFT ${median(serverTtft)} off schedule`);
  assert.ok(median(ttftErr) < 1, `${label}: median TTFT error ${median(ttftErr).toFixed(3)} ms`);
  assert.ok(median(chunkErr) < 1, `${label}: median chunk timing error ${median(chunkErr).toFixed(3)} ms`);
  // The ITL distribution's centre within 1 ms; its tail loosely (a descheduled client sees two chunks in one read,
  // which moves single samples but not the median).
  const wantP50 = quantile(truthItl, 0.5);
  assert.ok(
    Math.abs(c.summary.itl.p50 - wantP50) < 1,
    `${label}: ITL p50 ${c.summary.itl.p50.toFixed(3)} vs truth ${wantP50.toFixed(3)}`,
  );
  const wantMean = truthItl.reduce((a, b) => a + b, 0) / truthItl.length;
  // The mean moves with every late read; a few per cent is what a loaded 2-core machine allows.
  assert.ok(
    Math.abs(c.summary.itl.mean - wantMean) < 0.05 * wantMean,
    `${label}: ITL mean ${c.summary.itl.mean.toFixed(3)} vs ${wantMean.toFixed(3)}`,
  );
  const wantP99 = quantile(truthItl, 0.99);
  assert.ok(
    Math.abs(c.summary.itl.p99 - wantP99) < 0.1 * wantP99,
    `${label}: ITL p99 ${c.summary.itl.p99.toFixed(1)} vs ${wantP99.toFixed(1)}`,
  );
  assert.ok(c.summary.itl.max > 120, `${label}: the stall shows as the max ITL (${c.summary.itl.max})`);
  assert.equal(c.summary.itl.count, 12 * (OUT - 1), `${label}: one ITL per token after the first`);
  assert.equal(c.summary.tokens.output, 12 * OUT);
}

let streaming: ChildFake;
let finalOnly: ChildFake;
before(async () => {
  streaming = await spawnFake({ ...SCHEDULE, usage: 'continuous' });
  finalOnly = await spawnFake({ ...SCHEDULE, usage: 'final' });
});
after(async () => {
  await streaming?.close();
  await finalOnly?.close();
});

test('TTFT, chunk times and per-token ITL within 1 ms of the truth (per-chunk usage)', (t) =>
  attempts(t, async () => {
    const run = await measure(streaming);
    assert.equal(run.c.summary.tokens.inexactRequests, 0);
    checkAgainstTruth(run, 'continuous usage');
  }));

test('same accuracy when only the final usage is reported (tokens apportioned by text length)', (t) =>
  attempts(t, async () => {
    const run = await measure(finalOnly);
    assert.equal(run.c.summary.tokens.inexactRequests, 12);
    checkAgainstTruth(run, 'final usage');
  }));

test('coordinated omission: latency counts from the schedule, wherever the queue builds', (t) =>
  attempts(t, async () => {
    // A serial server taking 20 ms per request, offered 100 requests/s: request i (due at 10i ms) finishes near
    // 20(i+1) ms, so its latency grows to ~600 ms although each request is served in 20 ms.
    for (const clientCap of ['', ', concurrency: 1']) {
      const server = await spawnFake({ ttftMs: 20, serial: !clientCap, precise: true, usage: 'continuous' });
      try {
        const yaml = `name: co
target: { url: ${server.url}, model: m }
workload: { promptTokens: 8, outputTokens: 1 }
load: { mode: open, rate: 100, arrival: constant, requests: 60${clientCap} }
report: { formats: [] }
`;
        const loaded = loadScenarioText(yaml, 'co.yaml');
        const out = await runScenario(loaded, { outDir: join(TMP, 'co') });
        const c = out.results.configs[0] as ConfigResult;
        const truth = JSON.parse(await (await fetch(`${server.url}/truth`)).text()) as TruthEntry[];
        const mono0 = c.repeats[0]?.monotonicStartMs as number;
        const source = requestSource(loaded.scenario.workload, approximateTokenizer(), '.');
        // True latency: from the request's scheduled time (10i ms, constant arrivals) to the server's last write.
        const trueLatency = c.requests.map((r) => {
          const t = truth.filter((e) => e.head === source(r.i).prompt.slice(0, 16)).pop() as TruthEntry;
          return t.endHr - (mono0 + r.scheduledMs);
        });
        const where = clientCap ? 'client queue' : 'server queue';
        assert.ok(quantile(trueLatency, 0.99) > 400, `${where}: the scenario must overload the server`);
        const errors = c.requests.map((r, k) => Math.abs(r.e2eMs - (trueLatency[k] as number)));
        assert.ok(median(errors) < 1, `${where}: median e2e error ${median(errors).toFixed(2)} ms`);
        for (const [p, got] of [
          [0.5, c.summary.e2e.p50],
          [0.99, c.summary.e2e.p99],
        ] as const) {
          const want = quantile(trueLatency, p);
          assert.ok(
            Math.abs(got - want) < 2 + 0.03 * want,
            `${where}: e2e p${p * 100} ${got.toFixed(1)} vs truth ${want.toFixed(1)}`,
          );
        }
        // What a client timing from its actual send would report: about the 20 ms service time.
        const naive = c.requests.map((r) => r.e2eMs - r.dispatchMs);
        if (clientCap)
          assert.ok(median(naive) < 40, `naive median ${median(naive).toFixed(1)} ms would hide the queue`);
      } finally {
        await server.close();
      }
    }
  }));
