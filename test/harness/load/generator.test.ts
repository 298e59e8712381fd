import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mean, standardDeviation } from 'simple-statistics';
import { arrivals, generateLoad } from '../../../harness/load/generator.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('closed loop: exactly N clients in flight, every request issued once, next due when the previous ends', async () => {
  let inFlight = 0;
  let peak = 0;
  const seen: number[] = [];
  const lateness: number[] = [];
  const run = await generateLoad({ mode: 'closed', concurrency: 4, total: 40 }, async (i, scheduledAt) => {
    lateness.push(performance.now() - scheduledAt);
    seen.push(i);
    inFlight++;
    peak = Math.max(peak, inFlight);
    await sleep(2);
    inFlight--;
  });
  assert.equal(run.issued, 40);
  assert.equal(peak, 4);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => i),
  );
  assert.ok(mean(lateness) < 5, `closed-loop sends follow completions at once (mean lateness ${mean(lateness)} ms)`);
});

test('open loop: requests are scheduled on the arrival process regardless of completions', async () => {
  const scheduled: number[] = [];
  const run = await generateLoad({ mode: 'open', rate: 200, arrival: 'constant', total: 20 }, async (_i, at) => {
    scheduled.push(at);
    await sleep(30); // much slower than the 5 ms inter-arrival time: requests overlap
  });
  assert.equal(run.issued, 20);
  scheduled.sort((a, b) => a - b);
  for (const [i, t] of scheduled.entries())
    assert.ok(Math.abs(t - run.t0 - i * 5) < 1e-6, `request ${i} at ${t - run.t0}`);
});

test('open loop with a cap queues requests but keeps their scheduled times', async () => {
  let inFlight = 0;
  let peak = 0;
  const scheduled: number[] = [];
  const run = await generateLoad(
    { mode: 'open', rate: 500, arrival: 'constant', total: 10, concurrency: 2 },
    async (_i, at) => {
      scheduled.push(at);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(10);
      inFlight--;
    },
  );
  assert.equal(peak, 2);
  assert.equal(scheduled.length, 10);
  scheduled.sort((a, b) => a - b);
  for (const [i, t] of scheduled.entries()) assert.ok(Math.abs(t - run.t0 - i * 2) < 1e-6);
});

test('duration bound: nothing is issued after the deadline; a stop signal ends issuing early', async () => {
  const starts: number[] = [];
  const run = await generateLoad({ mode: 'closed', concurrency: 2, durationMs: 100 }, async () => {
    starts.push(performance.now());
    await sleep(5);
  });
  assert.ok(starts.every((t) => t - run.t0 < 100));
  assert.ok(run.issued >= 10, `issued ${run.issued}`);
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 30);
  const stopped = await generateLoad({ mode: 'open', rate: 1000, arrival: 'constant', total: 100000 }, () => sleep(1), {
    stop: stop.signal,
  });
  assert.ok(stopped.issued < 1000, `issued ${stopped.issued}`);
});

test('an abort signal reaches in-flight jobs', async () => {
  const abort = new AbortController();
  let aborted = 0;
  setTimeout(() => abort.abort(), 20);
  await generateLoad(
    { mode: 'closed', concurrency: 3, total: 3 },
    (_i, _at, signal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted++;
          resolve();
        });
      }),
    { abort: abort.signal },
  );
  assert.equal(aborted, 3);
});

test('arrival processes: constant, Poisson (CV 1), gamma burstiness (CV = 1/sqrt(shape))', () => {
  const gaps = (kind: 'constant' | 'poisson' | 'gamma', shape: number) => {
    const next = arrivals(10, kind, shape, 42);
    const t = Array.from({ length: 20001 }, () => next());
    assert.equal(t[0], 0, 'the first request goes at once');
    return t.slice(1).map((x, i) => x - (t[i] as number));
  };
  const constant = gaps('constant', 1);
  assert.ok(constant.every((g) => Math.abs(g - 100) < 1e-9));
  for (const [kind, shape, cv] of [
    ['poisson', 1, 1],
    ['gamma', 0.5, Math.SQRT2],
    ['gamma', 4, 0.5],
  ] as const) {
    const g = gaps(kind, shape);
    assert.ok(Math.abs(mean(g) - 100) < 3, `${kind}(${shape}) mean ${mean(g)}`);
    const got = standardDeviation(g) / mean(g);
    assert.ok(Math.abs(got - cv) < 0.05, `${kind}(${shape}) CV ${got}, want ${cv}`);
  }
});
