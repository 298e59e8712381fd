import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apportion } from '../../../harness/clients/openai.ts';
import type { StreamOutcome } from '../../../harness/clients/types.ts';
import { derive } from '../../../harness/metrics/request.ts';

const outcome = (chunkTimes: number[], chunkTokens: number[], extra: Partial<StreamOutcome> = {}): StreamOutcome => ({
  sentAt: 1,
  endAt: (chunkTimes[chunkTimes.length - 1] ?? 50) + 2,
  chunkTimes,
  chunkTokens,
  tokensExact: true,
  ...extra,
});

// Expected values worked out by hand from the definitions in docs/metrics.md (scheduled send at t = 0).
const CASES = [
  {
    name: 'one token per chunk',
    out: outcome([100, 110, 130], [1, 1, 1]),
    ttft: 100,
    itl: [10, 20],
    tpot: 15,
    itlMax: 20,
    tokens: 3,
  },
  {
    name: 'multi-token chunks split evenly; first-chunk extras are 0',
    out: outcome([50, 80, 90], [2, 3, 1]),
    ttft: 50,
    itl: [0, 10, 10, 10, 10],
    tpot: 8,
    itlMax: 10,
    tokens: 6,
  },
  { name: 'a single token', out: outcome([40], [1]), ttft: 40, itl: [], tpot: undefined, itlMax: undefined, tokens: 1 },
  {
    name: 'an error before any token',
    out: outcome([], [], { endAt: 30, error: { kind: 'http5xx', message: 'HTTP 500', status: 500 } }),
    ttft: undefined,
    itl: [],
    tpot: undefined,
    itlMax: undefined,
    tokens: 0,
  },
];

for (const c of CASES) {
  test(`derive: ${c.name}`, () => {
    const { record, itl } = derive(c.out, 0, -5, { promptTokens: 7 }, { i: 3, repeat: 0, phase: 'measured' });
    assert.equal(record.ttftMs, c.ttft);
    assert.deepEqual(itl, c.itl);
    assert.equal(record.tpotMs, c.tpot);
    assert.equal(record.itlMaxMs, c.itlMax);
    assert.equal(record.outputTokens, c.tokens);
    assert.equal(record.dispatchMs, 1);
    assert.equal(record.scheduledMs, 5);
    assert.equal(record.e2eMs, c.out.endAt);
    assert.equal(record.error?.kind, c.out.error?.kind);
  });
}

test('derive keeps chunk times relative to the schedule only when asked', () => {
  const a = derive(outcome([10, 20], [1, 2]), 4, 0, { promptTokens: 1 }, { i: 0, repeat: 0, phase: 'warmup' });
  assert.equal(a.record.chunkMs, undefined);
  const b = derive(
    outcome([10, 20], [1, 2]),
    4,
    0,
    { promptTokens: 1 },
    { i: 0, repeat: 0, phase: 'warmup', keepChunks: true },
  );
  assert.deepEqual(b.record.chunkMs, [6, 16]);
  assert.deepEqual(b.record.chunkTokens, [1, 2]);
});

const APPORTION = [
  { lens: [2, 6, 2], total: 5, want: [1, 3, 1] },
  { lens: [3, 3, 3], total: 10, want: [4, 3, 3] },
  { lens: [1, 1, 1, 1], total: 2, want: [1, 1, 0, 0] },
  { lens: [0, 0], total: 4, want: [2, 2] },
  { lens: [5, 1], total: 2, want: [1, 1] }, // at least one token per chunk when there are enough
];
for (const a of APPORTION) {
  test(`apportion ${a.total} tokens over text lengths ${a.lens.join(',')}`, () => {
    const out = outcome(
      a.lens.map((_, i) => i),
      a.lens.map(() => 1),
    );
    apportion(out, a.lens, a.total);
    assert.deepEqual(out.chunkTokens, a.want);
  });
}
