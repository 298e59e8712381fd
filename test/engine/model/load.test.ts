import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../../../engine/errors.ts';
import { writeHfFolder, writeModelGguf, writeModelSafetensors } from '../../../engine/formats/convert.ts';
import { tensorNames } from '../../../engine/model/config.ts';
import { detectFormat } from '../../../engine/model/detect.ts';
import { loadModel, loadTokenizer, loadTokenizerFile } from '../../../engine/model/load.ts';
import { tinyModel } from '../formats/fixtures.ts';
import { readRefVocab, referenceEncode } from '../tokenizer/llama2c-reference.ts';
import { sharedModels } from './shared-models.ts';

const { dir: models, skip } = sharedModels();
const STORIES = join(models, 'stories260K/stories260K.bin');
const TOK512 = join(models, 'stories260K/tok512.bin');
const LLAMA2_TOK = join(models, 'llama2-tokenizer/tokenizer.bin');
const GGUF = join(models, 'llamacpp-vocab/ggml-vocab-llama-spm.gguf');

const tmp = mkdtempSync(join(tmpdir(), 'load-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const isErr =
  (code: string, ...parts: string[]) =>
  (e: unknown) =>
    e instanceof BenchError && e.code === code && parts.every((p) => e.message.includes(p));

/** A fresh folder holding the given files (copied), so tokenizer lookup beside the model can be exercised. */
function folderWith(name: string, files: Record<string, string>): string {
  const d = join(tmp, name);
  mkdirSync(d);
  for (const [to, from] of Object.entries(files)) copyFileSync(from, join(d, to));
  return d;
}

describe('detectFormat reads contents, not names', () => {
  test('safetensors, HF folder, garbage and empty folder', () => {
    const json = Buffer.from('{"__metadata__":{}}');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const st = join(tmp, 'weights.bin'); // a misleading name on purpose
    writeFileSync(st, Buffer.concat([len, json]));
    assert.equal(detectFormat(st), 'safetensors');

    const hf = join(tmp, 'hf');
    mkdirSync(hf);
    writeFileSync(join(hf, 'config.json'), '{}');
    assert.equal(detectFormat(hf), 'hf-folder');

    const empty = join(tmp, 'empty-dir');
    mkdirSync(empty);
    assert.throws(() => detectFormat(empty), isErr('BAD_CHECKPOINT', empty, 'config.json'));

    const garbage = join(tmp, 'model.gguf');
    writeFileSync(garbage, 'definitely not a model\n'.repeat(10));
    assert.throws(() => detectFormat(garbage), isErr('BAD_CHECKPOINT', garbage, 'GGUF', 'safetensors', 'llama2.c'));
    const tiny = join(tmp, 'tiny.bin');
    writeFileSync(tiny, '');
    assert.throws(() => detectFormat(tiny), isErr('BAD_CHECKPOINT', tiny));
  });

  test('real files', { skip }, () => {
    assert.equal(detectFormat(STORIES), 'llama2c');
    assert.equal(detectFormat(GGUF), 'gguf');
    assert.throws(() => detectFormat(LLAMA2_TOK), isErr('BAD_CHECKPOINT', LLAMA2_TOK)); // a tokenizer is not a model
  });
});

describe('loadModel: llama2.c', { skip }, () => {
  test('stories260K with tok512.bin found beside it', async () => {
    const m = await loadModel(STORIES);
    assert.deepEqual(m.info, { name: 'stories260K', format: 'llama2c', path: STORIES, synthetic: false });
    assert.equal(m.config.vocabSize, 512);
    assert.equal(m.config.hiddenDim, 172);
    assert.equal(m.tokenizer.vocabSize, 512);
    assert.equal(m.tensor(tensorNames.embedding).read().length, 512 * 64);
    // stories260K's own tokenizer: 'Once upon a time' is a handful of merged tokens, not bytes
    const ids = m.tokenizer.encode('Once upon a time');
    assert.equal(ids[0], 1);
    assert.ok(ids.length < 8, `${ids}`);
    assert.equal(m.tokenizer.decode(ids), 'Once upon a time');
  });

  test('tokenizer.bin beside the model wins over tok<vocab>.bin; --tokenizer wins over both', async () => {
    const d = folderWith('both', { 'model.bin': STORIES, 'tokenizer.bin': LLAMA2_TOK, 'tok512.bin': TOK512 });
    await assert.rejects(loadModel(join(d, 'model.bin')), isErr('BAD_TOKENIZER', join(d, 'tokenizer.bin')));
    const m = await loadModel(join(d, 'model.bin'), { tokenizer: join(d, 'tok512.bin') });
    assert.equal(m.info.name, 'model');
    assert.equal(m.tokenizer.vocabSize, 512);
  });

  test('llama2xs model loads with the shared tokenizer', async () => {
    const m = await loadModel(join(models, 'stories260K/llama2xs-tok512-model.bin'));
    assert.equal(m.info.name, 'llama2xs-tok512-model');
    assert.equal(m.config.maxSeqLen, 256);
  });

  test('vocabulary mismatch: stories260K with the Llama 2 tokenizer', async () => {
    await assert.rejects(
      loadModel(STORIES, { tokenizer: LLAMA2_TOK }),
      isErr('BAD_TOKENIZER', LLAMA2_TOK, STORIES, '32000', '512'),
    );
  });

  test('no tokenizer beside the model', async () => {
    const d = folderWith('alone', { 'stories.bin': STORIES });
    await assert.rejects(loadModel(join(d, 'stories.bin')), isErr('BAD_INPUT', '--tokenizer', 'tok512.bin'));
  });

  test('missing tokenizer file given with --tokenizer', async () => {
    const p = join(tmp, 'no-such-tokenizer.bin');
    await assert.rejects(loadModel(STORIES, { tokenizer: p }), isErr('FILE_NOT_FOUND', p));
  });

  test('truncated checkpoint', async () => {
    const p = join(tmp, 'cut.bin');
    writeFileSync(p, readFileSync(STORIES).subarray(0, 5000));
    await assert.rejects(loadModel(p, { tokenizer: TOK512 }), isErr('BAD_CHECKPOINT', p, 'truncated'));
  });

  test('a llama2.c model takes any tokenizer file with --tokenizer (here a GGUF holding tok512)', async () => {
    const gguf = join(tmp, 'stories-tok.gguf');
    writeModelGguf(gguf, await loadModel(STORIES));
    const m = await loadModel(STORIES, { tokenizer: gguf });
    const text = 'Once upon a time, café 🦙';
    assert.deepEqual(m.tokenizer.encode(text), referenceEncode(readRefVocab(TOK512), text, true));
  });
});

describe('loadModel: GGUF, safetensors and Hugging Face folders', () => {
  const src = tinyModel();
  const gguf = join(tmp, 'tiny.gguf');
  const folder = join(tmp, 'tiny-hf');
  const lone = join(tmp, 'lone', 'tiny.safetensors');
  writeModelGguf(gguf, src, 'q8_0');
  writeHfFolder(folder, src);
  mkdirSync(dirname(lone));
  writeModelSafetensors(lone, src);

  test('each format loads with its own tokenizer; tensors are read on demand', async () => {
    for (const [path, format, layout] of [
      [gguf, 'gguf', 'interleaved'],
      [folder, 'safetensors', 'half'],
    ] as const) {
      const m = await loadModel(path);
      assert.equal(m.info.format, format, path);
      assert.deepEqual(m.config, { ...src.config, normEps: m.config.normEps, ropeLayout: layout });
      assert.ok(Math.abs(m.config.normEps - 1e-5) < 1e-12);
      assert.deepEqual(m.tokenizer.encode('hello abc'), src.tokenizer.encode('hello abc'), path);
      assert.equal(m.tensor(tensorNames.wv(1)).read().length, 16 * 32);
    }
  });

  test('a lone .safetensors file needs a tokenizer: beside it or --tokenizer (any kind, here GGUF)', async () => {
    await assert.rejects(loadModel(lone), isErr('BAD_TOKENIZER', '--tokenizer'));
    const m = await loadModel(lone, { tokenizer: gguf });
    assert.equal(m.info.format, 'safetensors');
    assert.deepEqual(m.tokenizer.encode('abc hello'), src.tokenizer.encode('abc hello'));
  });

  test('--tokenizer replaces the embedded one; a larger vocabulary is refused', { skip }, async () => {
    const m = await loadModel(gguf, { tokenizer: join(folder, 'tokenizer.json') });
    assert.deepEqual(m.tokenizer.encode('hello'), src.tokenizer.encode('hello'));
    await assert.rejects(loadModel(gguf, { tokenizer: GGUF }), isErr('BAD_TOKENIZER', '32000', gguf));
  });

  test('loadTokenizer reads no weights: a folder without model.safetensors still tokenizes', async () => {
    const noWeights = join(tmp, 'no-weights');
    mkdirSync(noWeights);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(join(folder, f), join(noWeights, f));
    await assert.rejects(loadModel(noWeights), isErr('BAD_CHECKPOINT', noWeights, 'safetensors'));
    const tok = await loadTokenizer(noWeights);
    assert.deepEqual(tok.encode('hello'), src.tokenizer.encode('hello'));
  });

  test('tokenizer files are told apart by content, not by name', async () => {
    const renamed = join(tmp, 'renamed');
    mkdirSync(renamed);
    copyFileSync(join(folder, 'tokenizer.json'), join(renamed, 'vocab.bin'));
    copyFileSync(gguf, join(renamed, 'vocab.json'));
    for (const f of ['vocab.bin', 'vocab.json']) {
      assert.deepEqual(loadTokenizerFile(join(renamed, f)).encode('abc'), src.tokenizer.encode('abc'), f);
    }
    const garbage = join(renamed, 'garbage');
    writeFileSync(garbage, Buffer.from([0xff, 0xff, 0xff, 0xff, 1]));
    assert.throws(() => loadTokenizerFile(garbage), isErr('BAD_TOKENIZER', garbage));
    assert.throws(() => loadTokenizerFile(renamed), isErr('BAD_TOKENIZER', renamed, 'not a file'));
    assert.throws(() => loadTokenizerFile(join(renamed, 'nope')), isErr('FILE_NOT_FOUND', 'nope'));
  });
});

describe('loadTokenizer: vocab-only and foreign GGUF files', { skip }, () => {
  test('a vocab-only GGUF is no model, but it tokenizes as llama.cpp does', async () => {
    await assert.rejects(loadModel(GGUF), isErr('BAD_CHECKPOINT', GGUF, 'vocab-only'));
    const tok = await loadTokenizer(GGUF);
    assert.deepEqual(tok.encode('Hello world'), [1, 15043, 3186]); // llama.cpp's vector for llama-spm
  });

  test('an architecture the engine cannot run still tokenizes (falcon)', async () => {
    const falcon = join(models, 'llamacpp-vocab/ggml-vocab-falcon.gguf');
    const tok = await loadTokenizer(falcon);
    assert.equal(tok.decode(tok.encode('Hello world')), 'Hello world');
  });

  test('llama2.c: the header is checked and the tokenizer found beside the model', async () => {
    const tok = await loadTokenizer(STORIES);
    assert.equal(tok.vocabSize, 512);
    await assert.rejects(loadTokenizer(STORIES, { tokenizer: LLAMA2_TOK }), isErr('BAD_TOKENIZER', '32000', '512'));
  });
});

describe('loadModel: arguments', () => {
  test('missing file', async () => {
    const p = join(tmp, 'nothing-here.bin');
    await assert.rejects(loadModel(p), isErr('FILE_NOT_FOUND', p, 'preset:NAME'));
  });

  test('garbage file', async () => {
    const p = join(tmp, 'garbage.bin');
    writeFileSync(p, Buffer.alloc(4096, 0xff));
    await assert.rejects(loadModel(p), isErr('BAD_CHECKPOINT', p));
  });

  test('--tokenizer with a preset is refused', async () => {
    await assert.rejects(loadModel('preset:tiny', { tokenizer: 'x.bin' }), isErr('BAD_INPUT', '--tokenizer'));
  });

  const synthetic = join(dirname(fileURLToPath(import.meta.url)), '../../../engine/model/synthetic.ts');
  test('unknown preset', {
    skip: existsSync(synthetic) ? false : 'engine/model/synthetic.ts not written yet',
  }, async () => {
    await assert.rejects(loadModel('preset:no-such-preset'), isErr('UNKNOWN_PRESET', 'no-such-preset'));
  });
});
