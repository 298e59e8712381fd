import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pcg32 } from '../../../engine/sampling/rng.ts';
import { argmax, probabilities, Sampler, sampleFrom } from '../../../engine/sampling/sampler.ts';
import { GREEDY, type SamplingParams } from '../../../engine/sampling/types.ts';

const logitsOf = (probs: number[]) => Float32Array.from(probs, Math.log);
const params = (over: Partial<SamplingParams>): SamplingParams => ({ temperature: 1, topK: 0, topP: 1, ...over });
function close(a: ArrayLike<number>, b: number[], tol = 1e-6): void {
  assert.equal(a.length, b.length);
  b.forEach((v, i) => {
    assert.ok(Math.abs(a[i]! - v) <= tol, `[${i}] ${a[i]} vs ${v}`);
  });
}

test('PCG32 reproduces the pcg32-demo reference stream (initstate 42, initseq 54)', () => {
  const rng = new Pcg32(42, 54);
  const got = Array.from({ length: 6 }, () => rng.nextU32());
  assert.deepEqual(got, [0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]);
});

test('random() is in [0, 1) and reproducible per seed', () => {
  const a = Pcg32.fromSeed(7);
  const b = Pcg32.fromSeed(7);
  const c = Pcg32.fromSeed(8);
  const xs = Array.from({ length: 1000 }, () => a.random());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.deepEqual(
    Array.from({ length: 1000 }, () => b.random()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 1000 }, () => c.random()),
    xs,
  );
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`); // 5.5 standard errors: a broken scaling fails
});

test('greedy: argmax with the lowest index on ties, no draw, one-hot probabilities', () => {
  const logits = Float32Array.of(1, 3, 3, 2);
  assert.equal(argmax(logits), 1);
  const s = new Sampler({ ...GREEDY, seed: 5 });
  assert.equal(s.sample(logits), 1);
  assert.deepEqual(Array.from(probabilities(logits, GREEDY)), [0, 1, 0, 0]);
});

test('temperature scales logits before the softmax', () => {
  // probs (0.5, 0.3, 0.2) at T = 0.5 become proportional to (0.25, 0.09, 0.04).
  close(probabilities(logitsOf([0.5, 0.3, 0.2]), params({ temperature: 0.5 })), [
    0.25 / 0.38,
    0.09 / 0.38,
    0.04 / 0.38,
  ]);
  close(probabilities(logitsOf([0.5, 0.3, 0.2]), params({})), [0.5, 0.3, 0.2]);
});

test('top-k keeps the k largest (lowest indices on ties) and renormalises', () => {
  close(probabilities(Float32Array.of(1, 5, 3, 5, 2), params({ topK: 2 })), [0, 0.5, 0, 0.5, 0]);
  // Three logits tie at 2 for two places: indices 0 and 2 win.
  close(probabilities(Float32Array.of(2, 1, 2, 2), params({ topK: 2 })), [0.5, 0, 0.5, 0]);
  close(probabilities(logitsOf([0.4, 0.3, 0.2, 0.1]), params({ topK: 3 })), [4 / 9, 3 / 9, 2 / 9, 0]);
  close(probabilities(logitsOf([0.4, 0.3, 0.2, 0.1]), params({ topK: 10 })), [0.4, 0.3, 0.2, 0.1]);
});

test('top-p keeps the smallest most-probable set reaching p', () => {
  const l = logitsOf([0.5, 0.2, 0.2, 0.1]);
  close(probabilities(l, params({ topP: 0.5 })), [1, 0, 0, 0]);
  close(probabilities(l, params({ topP: 0.6 })), [0.5 / 0.7, 0.2 / 0.7, 0, 0]); // tie 0.2/0.2: index 1 first
  close(probabilities(l, params({ topP: 0.9 })), [0.5 / 0.9, 0.2 / 0.9, 0.2 / 0.9, 0]); // exactly p: complete
  close(probabilities(l, params({ topP: 0.95 })), [0.5, 0.2, 0.2, 0.1]);
  close(probabilities(logitsOf([0.6, 0.4]), params({ topP: 0.1 })), [1, 0]);
});

test('top-k runs before top-p, which sees the renormalised top-k distribution', () => {
  // top-3 of (0.4, 0.3, 0.2, 0.1) is (4/9, 3/9, 2/9); p = 0.7 needs 4/9 + 3/9 = 7/9.
  close(probabilities(logitsOf([0.4, 0.3, 0.2, 0.1]), params({ topK: 3, topP: 0.7 })), [4 / 7, 3 / 7, 0, 0]);
});

test('sampleFrom walks the cumulative distribution in index order', () => {
  const p = Float64Array.of(0, 0.25, 0, 0.75);
  assert.equal(sampleFrom(p, 0), 1);
  assert.equal(sampleFrom(p, 0.2499), 1);
  assert.equal(sampleFrom(p, 0.25), 3);
  assert.equal(sampleFrom(p, 0.99999999), 3);
});

test('same seed, same tokens; another seed, other tokens', () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
  const run = (seed: number) => {
    const s = new Sampler(params({ temperature: 1.5, topK: 40, topP: 0.95, seed }));
    return Array.from({ length: 200 }, () => s.sample(logits));
  };
  assert.deepEqual(run(123), run(123));
  assert.notDeepEqual(run(123), run(124));
});

// Chi-square goodness of fit, alpha = 0.001: critical values from a chi-square table.
const CHI2_CRIT_001 = { 2: 13.816, 3: 16.266 } as const;
function chiSquare(counts: number[], expected: number[], n: number): number {
  return counts.reduce((s, c, i) => s + (c - n * expected[i]!) ** 2 / (n * expected[i]!), 0);
}

for (const [name, p, target, df] of [
  ['temperature 1', params({ seed: 1 }), [0.5, 0.25, 0.15, 0.1], 3],
  [
    'temperature 0.5 + top-k 3',
    params({ temperature: 0.5, topK: 3, seed: 2 }),
    [25 / 33.5, 6.25 / 33.5, 2.25 / 33.5],
    2,
  ],
  ['top-p 0.8', params({ topP: 0.8, seed: 3 }), [0.5 / 0.9, 0.25 / 0.9, 0.15 / 0.9], 2],
] as const) {
  test(`empirical frequencies match the target distribution (${name}, chi-square alpha 0.001)`, () => {
    const s = new Sampler(p);
    const logits = logitsOf([0.5, 0.25, 0.15, 0.1]);
    const n = 20000;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) counts[s.sample(logits)]!++;
    for (let i = target.length; i < 4; i++) assert.equal(counts[i], 0, `token ${i} was filtered out`);
    const stat = chiSquare(counts.slice(0, target.length), [...target], n);
    assert.ok(stat < CHI2_CRIT_001[df], `chi-square ${stat.toFixed(2)} (counts ${counts}) >= ${CHI2_CRIT_001[df]}`);
  });
}

test('bad parameters are rejected with what to pass instead', () => {
  assert.throws(() => new Sampler(params({ temperature: -1 })), /temperature must be/);
  assert.throws(() => new Sampler(params({ topK: 1.5 })), /top-k must be/);
  assert.throws(() => new Sampler(params({ topP: 0 })), /top-p must be/);
});

test('a 128k vocabulary with top-p samples in milliseconds', () => {
  const logits = Float32Array.from({ length: 128256 }, (_, i) => Math.sin(i * 0.37) * 4);
  const s = new Sampler(params({ topP: 0.9, seed: 9 }));
  const t0 = process.cpuUsage(); // CPU time: the test machine is shared
  for (let i = 0; i < 20; i++) s.sample(logits);
  const { user, system } = process.cpuUsage(t0);
  const ms = (user + system) / 1000 / 20;
  assert.ok(ms < 100, `${ms.toFixed(1)} ms per token`);
});
