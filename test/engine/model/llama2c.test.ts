import assert from 'node:assert/strict';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BenchError } from '../../../engine/errors.ts';
import { type ModelConfig, tensorNames as N, tensorShapes } from '../../../engine/model/config.ts';
import { openLlama2cCheckpoint } from '../../../engine/model/llama2c.ts';
import { sharedModels } from './shared-models.ts';

const { dir: models, skip } = sharedModels();
const STORIES = join(models, 'stories260K/stories260K.bin');
const XS = join(models, 'stories260K/llama2xs-tok512-model.bin');

const tmp = mkdtempSync(join(tmpdir(), 'llama2c-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const isErr =
  (code: string, ...parts: string[]) =>
  (e: unknown) =>
    e instanceof BenchError && e.code === code && parts.every((p) => e.message.includes(p));

const f32 = (a: ArrayLike<number>) => Buffer.from(Float32Array.from(a).buffer);
const i32 = (a: ArrayLike<number>) => Buffer.from(Int32Array.from(a).buffer);

/** export.py version1_export's layout, written independently of the loader: header, then the weights list. */
function writeV1(path: string, c: ModelConfig, read: (name: string) => Float32Array, flagOverride?: number): void {
  const h = Buffer.alloc(256);
  h.writeUInt32LE(0x616b3432, 0);
  h.writeInt32LE(1, 4);
  i32([c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.maxSeqLen]).copy(h, 8);
  h.writeUInt8(flagOverride ?? (c.tiedClassifier ? 1 : 0), 36);
  const layers = (f: (l: number) => string) => Array.from({ length: c.nLayers }, (_, l) => f(l));
  const order = [
    ...layers(N.attnNorm),
    ...layers(N.ffnNorm),
    N.finalNorm,
    N.embedding,
    ...layers(N.wq),
    ...layers(N.wk),
    ...layers(N.wv),
    ...layers(N.wo),
    ...layers(N.w1),
    ...layers(N.w2),
    ...layers(N.w3),
    ...(c.tiedClassifier ? [] : [N.classifier]),
  ];
  writeFileSync(path, Buffer.concat([h, ...order.map((n) => f32(read(n)))]));
}

describe('llama2.c v0 checkpoints (real files)', { skip }, () => {
  test('stories260K header', () => {
    const m = openLlama2cCheckpoint(STORIES);
    assert.equal(m.version, 0);
    assert.deepEqual(m.config, {
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      maxSeqLen: 512,
      normEps: 1e-5,
      ropeTheta: 10000,
      ropeLayout: 'interleaved',
      tiedClassifier: true,
    });
    assert.deepEqual(new Set(m.names), new Set(tensorShapes(m.config).keys()));
    assert.throws(() => m.tensor(N.classifier), isErr('RUNTIME', 'output'));
  });

  test('stories260K tensors come from the byte ranges of the README layout', () => {
    const m = openLlama2cCheckpoint(STORIES);
    const file = readFileSync(STORIES);
    const floatsAt = (floatIndex: number, n: number) =>
      new Float32Array(
        file.buffer.slice(file.byteOffset + 28 + 4 * floatIndex, file.byteOffset + 28 + 4 * (floatIndex + n)),
      );
    // float offsets after the header, by hand: emb 512*64; rms_att 5*64; wq 5*64*64; wk, wv 5*32*64; wo 5*64*64;
    // rms_ffn 5*64; w1, w2, w3 5*172*64 each; rms_final 64; freq_cis 2*512*4
    const emb = 0;
    const rmsAtt = 32768;
    const wq = rmsAtt + 320;
    const wk = wq + 20480;
    const wo = wk + 2 * 10240;
    const rmsFfn = wo + 20480;
    const w1 = rmsFfn + 320;
    const w2 = w1 + 55040;
    const rmsFinal = w2 + 2 * 55040;
    assert.equal(28 + 4 * (rmsFinal + 64 + 4096), file.length);
    const cases: [string, number, number][] = [
      [N.embedding, emb, 32768],
      [N.attnNorm(4), rmsAtt + 4 * 64, 64],
      [N.wq(1), wq + 4096, 4096],
      [N.wk(0), wk, 2048],
      [N.wv(2), wk + 10240 + 2 * 2048, 2048],
      [N.wo(4), wo + 4 * 4096, 4096],
      [N.ffnNorm(0), rmsFfn, 64],
      [N.w1(3), w1 + 3 * 11008, 11008],
      [N.w2(1), w2 + 11008, 11008],
      [N.w3(4), w2 + 55040 + 4 * 11008, 11008],
      [N.finalNorm, rmsFinal, 64],
    ];
    for (const [name, at, n] of cases) {
      const t = m.tensor(name);
      assert.equal(
        t.shape.reduce((a, b) => a * b, 1),
        n,
        name,
      );
      assert.deepEqual(t.read(), floatsAt(at, n), name);
    }
    assert.deepEqual(m.tensor(N.w2(0)).shape, [64, 172]);
    assert.deepEqual(m.tensor(N.wk(0)).shape, [32, 64]);
  });

  test('llama2xs-tok512-model header', () => {
    const m = openLlama2cCheckpoint(XS);
    const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, tiedClassifier } = m.config;
    assert.deepEqual(
      { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, tiedClassifier },
      {
        dim: 64,
        hiddenDim: 192,
        nLayers: 5,
        nHeads: 8,
        nKvHeads: 4,
        vocabSize: 512,
        maxSeqLen: 256,
        tiedClassifier: true,
      },
    );
    assert.equal(m.tensor(N.w3(4)).read().length, 192 * 64);
  });

  test('a v1 file written from the v0 tensors loads to identical tensors', () => {
    const v0 = openLlama2cCheckpoint(STORIES);
    const p = join(tmp, 'stories260K-v1.bin');
    writeV1(p, v0.config, (n) => v0.tensor(n).read());
    const v1 = openLlama2cCheckpoint(p);
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.config, v0.config);
    for (const name of v0.names) assert.deepEqual(v1.tensor(name).read(), v0.tensor(name).read(), name);
  });

  test('truncated, padded and corrupt files give BAD_CHECKPOINT naming the file', () => {
    const full = readFileSync(STORIES);
    const truncated = join(tmp, 'truncated.bin');
    writeFileSync(truncated, full.subarray(0, full.length - 100));
    assert.throws(
      () => openLlama2cCheckpoint(truncated),
      isErr('BAD_CHECKPOINT', truncated, 'truncated: expected 1056540 bytes, got 1056440'),
    );
    const padded = join(tmp, 'padded.bin');
    writeFileSync(padded, Buffer.concat([full, Buffer.alloc(8)]));
    assert.throws(() => openLlama2cCheckpoint(padded), isErr('BAD_CHECKPOINT', padded, '1056548 bytes'));
    const badHeads = join(tmp, 'bad-heads.bin');
    const copy = Buffer.from(full);
    copy.writeInt32LE(7, 12); // n_heads 7 does not divide dim 64
    writeFileSync(badHeads, copy);
    assert.throws(() => openLlama2cCheckpoint(badHeads), isErr('BAD_CHECKPOINT', badHeads, 'n_heads 7'));
  });
});

describe('llama2.c synthetic files', () => {
  // dim 8, hidden 12, 2 layers, 2 heads, 1 kv head (head size 4, kv dim 4), vocab 16, seq 3
  const c: ModelConfig = {
    dim: 8,
    hiddenDim: 12,
    nLayers: 2,
    nHeads: 2,
    nKvHeads: 1,
    headDim: 4,
    vocabSize: 16,
    maxSeqLen: 3,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'interleaved',
    tiedClassifier: false,
  };
  // v0 floats: emb 128, rms_att 16, wq 128, wk 64, wv 64, wo 128, rms_ffn 16, w1 192, w2 192, w3 192, rms_final 8,
  // freq_cis 2*3*2 = 12, wcls 128 -> rms_final ends at float 1128, wcls starts at 1140; every float holds its index
  const v0Floats = 1140 + 128;
  const writeV0 = (path: string, vocab: number) => {
    const h = i32([8, 12, 2, 2, 1, vocab, 3]);
    writeFileSync(path, Buffer.concat([h, f32(Array.from({ length: v0Floats }, (_, i) => i))]));
  };

  test('v0 with an unshared classifier (negative vocab_size) finds wcls after the freq_cis tables', () => {
    const p = join(tmp, 'untied-v0.bin');
    writeV0(p, -16);
    const m = openLlama2cCheckpoint(p);
    assert.equal(m.config.vocabSize, 16);
    assert.equal(m.config.tiedClassifier, false);
    assert.deepEqual(m.tensor(N.classifier).shape, [16, 8]);
    assert.deepEqual([...m.tensor(N.classifier).read().subarray(0, 3)], [1140, 1141, 1142]);
    assert.deepEqual([...m.tensor(N.finalNorm).read()].at(-1), 1127);
    assert.deepEqual([...m.tensor(N.wk(1)).read()][0], 128 + 16 + 128 + 32);
    // the same file with a positive vocab_size is a tied model, so the classifier bytes are 512 too many
    const tied = join(tmp, 'tied-but-long.bin');
    writeV0(tied, 16);
    assert.throws(() => openLlama2cCheckpoint(tied), isErr('BAD_CHECKPOINT', tied, `${28 + 4 * 1140}`));
  });

  test('v1 with an unshared classifier round-trips; version 2 and bad flags are refused', () => {
    const v0 = join(tmp, 'untied-v0b.bin');
    writeV0(v0, -16);
    const a = openLlama2cCheckpoint(v0);
    const p = join(tmp, 'untied-v1.bin');
    writeV1(p, c, (n) => a.tensor(n).read());
    const b = openLlama2cCheckpoint(p);
    assert.equal(b.config.tiedClassifier, false);
    for (const name of a.names) assert.deepEqual(b.tensor(name).read(), a.tensor(name).read(), name);
    const q8 = Buffer.from(readFileSync(p));
    q8.writeInt32LE(2, 4);
    const pq = join(tmp, 'q8.bin');
    writeFileSync(pq, q8);
    assert.throws(() => openLlama2cCheckpoint(pq), isErr('UNSUPPORTED', pq, 'version 2'));
    const pf = join(tmp, 'flag.bin');
    writeV1(pf, c, (n) => a.tensor(n).read(), 7);
    assert.throws(() => openLlama2cCheckpoint(pf), isErr('BAD_CHECKPOINT', pf, 'flag'));
  });

  test('tensors are read lazily: a sparse 27 GB 7B-shape file opens and reads one tensor', () => {
    const p = join(tmp, 'sparse-7b.bin');
    const h = i32([4096, 11008, 32, 32, 32, 32000, 2048]);
    // Llama 2 7B with a tied classifier: 6,738,415,616 - 32000*4096 parameters, + freq_cis 2*2048*64 floats
    const size = 28 + 4 * (6738415616 - 32000 * 4096 + 2 * 2048 * 64);
    const fd = openSync(p, 'w');
    writeSync(fd, h, 0, 28, 0);
    ftruncateSync(fd, size);
    closeSync(fd);
    const m = openLlama2cCheckpoint(p);
    assert.equal(m.config.nLayers, 32);
    const norm = m.tensor(N.finalNorm).read();
    assert.equal(norm.length, 4096);
    assert.ok(norm.every((x) => x === 0));
  });

  test('missing file gives FILE_NOT_FOUND', () => {
    const p = join(tmp, 'missing.bin');
    assert.throws(() => openLlama2cCheckpoint(p), isErr('FILE_NOT_FOUND', p));
  });
});
