import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addNoise, fillNoise, noiseValue, pcg } from '../../../engine/model/noise.ts';

// Independent transcription of the definition with BigInt (no Math.imul, no >>> tricks).
const M32 = 0xffffffffn;
function pcgBig(v: bigint): bigint {
  const s = (v * 747796405n + 2891336453n) & M32;
  const w = (((s >> ((s >> 28n) + 4n)) ^ s) * 277803737n) & M32;
  return (w >> 22n) ^ w;
}
function noiseBig(seed: number, i: number): number {
  const h = pcgBig(BigInt(i) ^ pcgBig(BigInt(seed)));
  return Number(h >> 8n) * 2 ** -24 * 2 - 1;
}

const cases: Array<[number, number]> = [
  [0, 0],
  [0, 1],
  [1, 0],
  [42, 123456],
  [0xffffffff, 0xffffffff],
  [2024, 262_668_287], // the last element of a 128256 x 2048 embedding
];

test('pcg and noiseValue follow the u32 definition (checked against BigInt arithmetic)', () => {
  for (const v of [0, 1, 747796405, 0x80000000, 0xffffffff]) assert.equal(pcg(v), Number(pcgBig(BigInt(v))));
  // pcg(0) by hand: s = 2891336453 = 0xAC564B05; s >>> 28 = 10, so w = ((s >>> 14) ^ s) * 277803737 mod 2^32.
  const s = 2891336453n;
  const w = (((s >> 14n) ^ s) * 277803737n) & M32;
  assert.equal(pcg(0), Number((w >> 22n) ^ w));
  for (const [seed, i] of cases) assert.equal(noiseValue(seed, i), noiseBig(seed, i), `seed ${seed} i ${i}`);
});

test('fillNoise equals Math.fround(scale * noiseValue) element by element, from any start', () => {
  const scale = Math.fround(0.0123);
  const out = fillNoise(99, scale, new Float32Array(4096), 1000);
  for (let j = 0; j < out.length; j++) {
    assert.equal(out[j], Math.fround(scale * noiseBig(99, 1000 + j)), `element ${j}`);
  }
  const acc = new Float64Array(10).fill(1);
  addNoise(99, 2, acc, 3, 1000, 5);
  assert.deepEqual(Array.from(acc.subarray(0, 3)), [1, 1, 1]);
  for (let j = 0; j < 5; j++) assert.equal(acc[3 + j], 1 + 2 * noiseBig(99, 1000 + j));
});

test('values cover [-1, 1) uniformly: mean 0, variance 1/3', () => {
  const out = fillNoise(7, 1, new Float32Array(1 << 20));
  let sum = 0;
  let sq = 0;
  let min = 1;
  let max = -1;
  for (const v of out) {
    sum += v;
    sq += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const n = out.length;
  assert.ok(Math.abs(sum / n) < 0.005, `mean ${sum / n}`); // 8.7 standard errors
  assert.ok(Math.abs(sq / n - 1 / 3) < 0.005, `variance ${sq / n}`);
  assert.ok(min >= -1 && max < 1 && min < -0.999 && max > 0.999);
});

test('fillNoise fills at least 100M values per second (of CPU time)', () => {
  const out = new Float32Array(20_000_000);
  let best = 0;
  for (let r = 0; r < 5; r++) {
    // CPU time, not wall time: the test machine is shared, and other processes' work is not ours.
    const t0 = process.cpuUsage();
    fillNoise(r, 0.5, out);
    const { user, system } = process.cpuUsage(t0);
    best = Math.max(best, out.length / ((user + system) / 1e6));
  }
  assert.ok(best > 100e6, `${(best / 1e6).toFixed(0)}M values/s`);
});
