import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregate, combineRepeats } from '../../../harness/metrics/aggregate.ts';
import { metricsDelta, parsePrometheus, specFromMetrics } from '../../../harness/metrics/prometheus.ts';
import type { RequestRecord } from '../../../harness/metrics/request.ts';
import { bootstrapCi, summarize } from '../../../harness/metrics/summary.ts';

const rec = (i: number, o: Partial<RequestRecord>): RequestRecord => ({
  i,
  repeat: 0,
  phase: 'measured',
  scheduledMs: i * 100,
  dispatchMs: 0,
  ttftMs: 50,
  e2eMs: 200,
  tpotMs: 10,
  itlMaxMs: 12,
  promptTokens: 10,
  outputTokens: 16,
  tokensExact: true,
  chunks: 16,
  ...o,
});

test('aggregate: window, rates, errors and exclusions', () => {
  const records = [
    rec(0, { phase: 'warmup', outputTokens: 1000 }),
    rec(1, {}), // window starts at 100
    rec(2, { ttftMs: 300, e2eMs: 400 }),
    rec(3, { error: { kind: 'timeout', message: 't' }, outputTokens: 3 }),
    rec(4, { error: { kind: 'cancelled', message: 'c' } }),
    rec(5, { promptTokensReported: 12 }), // ends at 700: window 100..700 = 0.6 s
    rec(6, { phase: 'cooldown', e2eMs: 5000 }),
  ];
  const a = aggregate(records, [10, 10, 20]);
  assert.equal(a.durationS, 0.6);
  assert.deepEqual(a.requests, { measured: 5, completed: 3, failed: 1, cancelled: 1 });
  assert.equal(a.errors.timeout, 1);
  assert.equal(a.errors.cancelled, 1);
  assert.equal(a.tokens.output, 48);
  assert.equal(a.tokens.input, 32);
  assert.ok(Math.abs(a.outputTokPerS - 80) < 1e-9);
  assert.ok(Math.abs(a.requestPerS - 5) < 1e-9);
  assert.ok(Math.abs(a.errorRate - 0.25) < 1e-9);
  assert.equal(a.ttft.max, 300);
  assert.equal(a.itl.count, 3);
});

test('goodput: per-request bounds, percentile bounds decide sloMet', () => {
  const records = [
    rec(0, { ttftMs: 40 }),
    rec(1, { ttftMs: 60 }),
    rec(2, { ttftMs: 45, tpotMs: 30 }),
    rec(3, { ttftMs: 44 }),
  ];
  const a = aggregate(records, [], { ttftP50Ms: 50, tpotMs: 20 });
  // Good: ttft <= 50 and tpot <= 20 -> requests 0 and 3.
  assert.equal(a.goodputFraction, 0.5);
  assert.equal(a.sloMet, true); // p50 of 40,44,45,60 is 44.5 <= 50
  const strict = aggregate(records, [], { ttftP99Ms: 50 });
  assert.equal(strict.sloMet, false);
  assert.match(strict.sloFailures?.[0] ?? '', /^ttftP99Ms 59\.\d > 50$/);
});

test('combineRepeats averages rates and gives bootstrap intervals over repeats', () => {
  const r1 = aggregate([rec(0, {}), rec(1, {})], []);
  const r2 = aggregate([rec(0, { e2eMs: 100 }), rec(1, { e2eMs: 100 })], []);
  const all = combineRepeats(
    [r1, r2],
    [rec(0, {}), rec(1, {}), rec(0, { e2eMs: 100, repeat: 1 }), rec(1, { e2eMs: 100, repeat: 1 })],
    [],
  );
  assert.ok(Math.abs(all.outputTokPerS - (r1.outputTokPerS + r2.outputTokPerS) / 2) < 1e-9);
  const ci = all.ci?.outputTokPerS;
  assert.ok(ci && ci[0] <= all.outputTokPerS && ci[1] >= all.outputTokPerS);
});

test('summaries and bootstrap intervals', () => {
  const s = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual([s.count, s.mean, s.min, s.max, s.p50], [10, 5.5, 1, 10, 5.5]);
  assert.equal(bootstrapCi([5]), undefined);
  const [lo, hi] = bootstrapCi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) as [number, number];
  assert.ok(lo > 3 && lo < 5.5 && hi > 5.5 && hi < 8, `${lo}..${hi}`);
  assert.deepEqual(bootstrapCi([1, 2, 3, 4]), bootstrapCi([1, 2, 3, 4]), 'seeded');
});

test('Prometheus text: parse, counter deltas, speculative acceptance', () => {
  const before = parsePrometheus(
    '# HELP x\nbench_engine_requests_total 10\nbench_spec_proposed_tokens_total 100\nbench_spec_accepted_tokens_total 60\nq{a="1"} 3\nbad line\nnan_metric NaN\n',
  );
  assert.deepEqual(before, {
    bench_engine_requests_total: 10,
    bench_spec_proposed_tokens_total: 100,
    bench_spec_accepted_tokens_total: 60,
    'q{a="1"}': 3,
  });
  const after = parsePrometheus(
    'bench_engine_requests_total 30\nbench_spec_proposed_tokens_total 300\nbench_spec_accepted_tokens_total 210\nq{a="1"} 7\n',
  );
  const d = metricsDelta(before, after);
  assert.equal(d.bench_engine_requests_total, 20);
  assert.equal(d['q{a="1"}'], 7, 'gauges keep their value');
  assert.deepEqual(specFromMetrics(d), { proposed: 200, accepted: 150, acceptance: 0.75 });
  assert.equal(specFromMetrics({ bench_engine_requests_total: 5 }), undefined);
});
