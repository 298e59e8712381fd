import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type ModelConfig, tensorNames, tensorShapes } from '../../../engine/model/config.ts';
import { argmax, CpuReference } from '../../../engine/reference/cpu-forward.ts';
import {
  lcgFill,
  llama2cDecode,
  modelFrom,
  naiveForward,
  randomModel,
  readLlama2cPieces,
  readLlama2cV0,
  smallConfig,
} from './fixtures.ts';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= tol * (1 + Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('one layer, dim 2, one token: matches numbers derived by hand', () => {
  // dim 2, 1 head of size 2, hidden 1, vocab 2, eps 0. Token 0 embeds to [1, 0]:
  // rmsnorm([1, 0]) = [sqrt2, 0]; at position 0 RoPE is the identity and attention over one position returns v.
  const c: ModelConfig = { ...smallConfig(), dim: 2, hiddenDim: 1, nLayers: 1, nHeads: 1, nKvHeads: 1, headDim: 2 };
  Object.assign(c, { vocabSize: 2, normEps: 0, tiedClassifier: false });
  const t = new Map<string, Float32Array>([
    [tensorNames.embedding, Float32Array.of(1, 0, 0, 1)],
    [tensorNames.attnNorm(0), Float32Array.of(1, 1)],
    [tensorNames.wq(0), Float32Array.of(1, 0, 0, 1)],
    [tensorNames.wk(0), Float32Array.of(1, 0, 0, 1)],
    [tensorNames.wv(0), Float32Array.of(1, 0, 0, 1)], // v = [sqrt2, 0]
    [tensorNames.wo(0), Float32Array.of(0.5, 0, 0, 0.5)], // x = [1 + sqrt2/2, 0]
    [tensorNames.ffnNorm(0), Float32Array.of(1, 2)], // hn = [sqrt2, 0]
    [tensorNames.w1(0), Float32Array.of(1, 0)], // gate = sqrt2
    [tensorNames.w3(0), Float32Array.of(1, 1)], // up = sqrt2
    [tensorNames.w2(0), Float32Array.of(1, 0.5)], // x += [h, h/2] with h = silu(sqrt2) * sqrt2
    [tensorNames.finalNorm, Float32Array.of(1, 1)],
    [tensorNames.classifier, Float32Array.of(1, 0, 1, -1)],
  ]);
  const s2 = Math.SQRT2;
  const h = (s2 / (1 + Math.exp(-s2))) * s2;
  const x = [1 + s2 / 2 + h, h / 2];
  const rms = Math.sqrt((x[0]! ** 2 + x[1]! ** 2) / 2);
  const expected = [x[0]! / rms, (x[0]! - x[1]!) / rms];
  const [logits] = new CpuReference(modelFrom(c, t)).forward([0], 0);
  assertClose(logits!, expected, 1e-12, 'logits');
});

const variants: Array<[string, Partial<ModelConfig>]> = [
  ['GQA, interleaved RoPE, untied', {}],
  ['GQA, half RoPE, tied', { ropeLayout: 'half', tiedClassifier: true }],
  ['MHA', { nKvHeads: 4 }],
  ['MQA, theta 500000', { nKvHeads: 1, ropeTheta: 500000 }],
  ['headDim != dim / nHeads', { nHeads: 2, nKvHeads: 1, headDim: 6 }],
];

for (const [name, over] of variants) {
  test(`matches an independent naive forward pass: ${name}`, () => {
    const model = randomModel(smallConfig(over), 7);
    const tokens = [1, 5, 3, 9, 0, 10, 2];
    const expected = naiveForward(model, tokens);
    const got = new CpuReference(model).forward(tokens, 0);
    tokens.forEach((_, i) => {
      assertClose(got[i]!, expected[i]!, 1e-9, `position ${i}`);
    });
  });
}

test('tied classifier reads the embedding; untied reads its own tensor', () => {
  const tied = randomModel(smallConfig({ tiedClassifier: true }), 3);
  const untiedCfg = smallConfig({ tiedClassifier: false });
  const copy = new Map<string, Float32Array>();
  for (const name of tensorShapes(untiedCfg).keys()) {
    copy.set(
      name,
      name === tensorNames.classifier ? tied.tensor(tensorNames.embedding).read() : tied.tensor(name).read(),
    );
  }
  const a = new CpuReference(tied).forward([4, 2, 7], 0);
  const b = new CpuReference(modelFrom(untiedCfg, copy)).forward([4, 2, 7], 0);
  a.forEach((row, i) => {
    assertClose(b[i]!, row, 1e-15, `row ${i}`);
  });
  copy.set(tensorNames.classifier, lcgFill(99, untiedCfg.vocabSize * untiedCfg.dim, 0.25));
  const c = new CpuReference(modelFrom(untiedCfg, copy)).forward([4, 2, 7], 0);
  assert.notDeepEqual(Array.from(c[2]!), Array.from(a[2]!));
});

test('prefill of all tokens at once equals token-by-token decode', () => {
  const model = randomModel(smallConfig({ nLayers: 3 }), 11);
  const tokens = [2, 8, 8, 1, 6, 4, 10, 3];
  const all = new CpuReference(model).forward(tokens, 0);
  const step = new CpuReference(model);
  tokens.forEach((tok, i) => {
    assertClose(step.forward([tok], i)[0]!, all[i]!, 1e-12, `position ${i}`);
  });
  // Chunked prefill too: 3 + 5.
  const chunked = new CpuReference(model);
  const rows = [...chunked.forward(tokens.slice(0, 3), 0), ...chunked.forward(tokens.slice(3), 3)];
  rows.forEach((row, i) => {
    assertClose(row, all[i]!, 1e-12, `chunked ${i}`);
  });
});

test('truncate() rolls the KV cache back', () => {
  const model = randomModel(smallConfig(), 5);
  const ref = new CpuReference(model);
  ref.forward([1, 2, 3, 4, 5], 0);
  assert.equal(ref.length, 5);
  ref.truncate(3);
  assert.equal(ref.length, 3);
  const after = ref.forward([9, 7], 3);
  const fresh = new CpuReference(model).forward([1, 2, 3, 9, 7], 0);
  assertClose(after[0]!, fresh[3]!, 1e-12, 'position 3');
  assertClose(after[1]!, fresh[4]!, 1e-12, 'position 4');
  assert.throws(() => ref.truncate(6), /truncate\(6\)/);
  assert.throws(() => ref.forward([1], 2), /truncate\(\) first/);
});

test('greedy() returns argmax tokens and restarts from an empty cache', () => {
  const model = randomModel(smallConfig(), 13);
  const ref = new CpuReference(model);
  const out = ref.greedy([1, 4], 6);
  assert.equal(out.length, 6);
  // Expected tokens from the naive pass, one argmax at a time.
  const seq = [1, 4];
  for (let i = 0; i < 6; i++) seq.push(argmax(Float64Array.from(naiveForward(model, seq).at(-1)!)));
  assert.deepEqual(out, seq.slice(2));
  assert.deepEqual(ref.greedy([1, 4], 6), out);
});

test('rejects positions past maxSeqLen and ids outside the vocabulary', () => {
  const ref = new CpuReference(randomModel(smallConfig({ maxSeqLen: 4 }), 1));
  assert.throws(() => ref.forward([1, 2, 3, 4, 5], 0), /maxSeqLen 4/);
  assert.throws(() => ref.forward([11], 0), /outside the vocabulary/);
  assert.equal(ref.length, 0);
});

const models = '../shared/models/stories260K';
const haveModels = existsSync(`${models}/stories260K.bin`);

test('golden: stories260K greedy from BOS, 200 steps, equals llama2.c test_all.py', {
  skip: haveModels ? false : `${models} is absent (the shared test models are not on this machine)`,
}, () => {
  const ref = new CpuReference(readLlama2cV0(`${models}/stories260K.bin`));
  const pieces = readLlama2cPieces(`${models}/tok512.bin`);
  const ids = ref.greedy([1], 200);
  // run.c stops when it samples BOS; it prints every other token.
  const end = ids.indexOf(1);
  const kept = end < 0 ? ids : ids.slice(0, end);
  const text = Buffer.concat(kept.map((id, i) => llama2cDecode(pieces, i === 0 ? 1 : kept[i - 1]!, id))).toString();
  assert.equal(text, readFileSync(`${models}/expected-greedy-200.txt`, 'utf8'));
});
