// Verification is lossless: greedy keeps exactly the target's argmax tokens; rejection sampling emits tokens
// distributed as the target's own (chi-square, alpha = 0.01), for a model draft (distribution q) and a
// deterministic draft (n-gram). Dropping the residual resampling must be caught by the same test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pcg32 } from '../../../engine/sampling/rng.ts';
import { probabilities } from '../../../engine/sampling/sampler.ts';
import { lookup } from '../../../engine/spec/ngram.ts';
import { rowsOf, verify } from '../../../engine/spec/verify.ts';
import { chiSquare } from '../../helpers/chi-square.ts';
import { randoms } from '../../helpers/gpu.ts';

const V = 12;
const params = { temperature: 1, topK: 0, topP: 1 };

test('greedy: drafts are kept while they equal the argmax, then the target token follows', () => {
  const rows = rowsOf(
    [0, 1, 2].map((i) => {
      const r = new Float32Array(V);
      r[[5, 7, 9][i]!] = 1;
      return r;
    }),
  );
  const g = { temperature: 0, topK: 0, topP: 1 };
  assert.deepEqual(verify({ tokens: [5, 7] }, rows, g, Math.random), { accepted: 2, tokens: [5, 7, 9] });
  assert.deepEqual(verify({ tokens: [5, 3] }, rows, g, Math.random), { accepted: 1, tokens: [5, 7] });
  assert.deepEqual(verify({ tokens: [4, 7] }, rows, g, Math.random), { accepted: 0, tokens: [5] });
});

function firstTokenCounts(draftProbs: Float64Array | undefined, draftToken: () => number, keepResidual: boolean) {
  const rng = new Pcg32(7n);
  const logits = [randoms(V, 21, 2), randoms(V, 22, 2)];
  const rows = rowsOf(logits);
  const counts = new Array<number>(V).fill(0);
  for (let i = 0; i < 20000; i++) {
    const x = draftToken();
    const v = verify(
      { tokens: [x], ...(draftProbs ? { probs: [draftProbs] } : {}) },
      rows,
      params,
      () => rng.random(),
      keepResidual,
    );
    counts[v.tokens[0]!]!++;
  }
  return { counts, p: probabilities(logits[0]!, params) };
}

test('rejection sampling with a model draft emits the target distribution; without the residual it does not', () => {
  const q = probabilities(randoms(V, 23, 3), params);
  const rng = new Pcg32(9n);
  const drawQ = () => {
    let u = rng.random();
    for (let i = 0; i < V; i++) {
      u -= q[i]!;
      if (u < 0) return i;
    }
    return V - 1;
  };
  const good = firstTokenCounts(q, drawQ, true);
  const r = chiSquare(good.counts, good.p);
  assert.ok(!r.rejects, `chi2 ${r.statistic.toFixed(1)} > ${r.critical} (df ${r.df})`);
  const bad = firstTokenCounts(q, drawQ, false);
  const b = chiSquare(bad.counts, bad.p);
  assert.ok(b.rejects, `without the residual the test must reject: chi2 ${b.statistic.toFixed(1)} <= ${b.critical}`);
});

test('rejection sampling with a deterministic (n-gram) draft emits the target distribution', () => {
  const good = firstTokenCounts(undefined, () => 3, true);
  const r = chiSquare(good.counts, good.p);
  assert.ok(!r.rejects, `chi2 ${r.statistic.toFixed(1)} > ${r.critical} (df ${r.df})`);
  const bad = firstTokenCounts(undefined, () => 3, false);
  assert.ok(chiSquare(bad.counts, bad.p).rejects, 'without the residual the test must reject');
});

test('n-gram lookup proposes what followed the latest earlier match of the longest suffix', () => {
  assert.deepEqual(lookup([1, 2, 3, 4, 9, 2, 3], 3, 2), [4, 9]); // suffix [2, 3] matched at 1
  assert.deepEqual(lookup([5, 6, 7, 5, 6, 8, 5, 6], 2, 3), [8, 5, 6]); // latest match of [5, 6] wins
  assert.deepEqual(lookup([1, 2, 3], 3, 4), []); // no earlier occurrence
  assert.deepEqual(lookup([7, 1, 7], 1, 4), [1, 7]); // unigram fallback, cut at the end of the text
});
