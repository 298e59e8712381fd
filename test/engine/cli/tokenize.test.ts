// `bench tokenize` / `bench detokenize` as users run them: real child processes on real vocabularies. Expected ids
// come from llama.cpp's own vectors (.inp/.out beside the vocab-only GGUF files) and from an independent
// transcription of llama2.c's run.c encoder, never from the code under test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseIds } from '../../../engine/cli/tokenize.ts';
import { BenchError } from '../../../engine/errors.ts';
import { sharedModels } from '../model/shared-models.ts';
import { readRefVocab, referenceEncode } from '../tokenizer/llama2c-reference.ts';

const { dir: MODELS, skip } = sharedModels();
const VOCABS = join(MODELS, 'llamacpp-vocab');
const STORIES = join(MODELS, 'stories260K/stories260K.bin');
const TOK512 = join(MODELS, 'stories260K/tok512.bin');
const tmp = mkdtempSync(join(tmpdir(), 'tokenize-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function bench(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['bin/bench.js', ...args], {
    encoding: 'utf8',
    input: input ?? '',
    env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(args: string[], input?: string): string {
  const r = bench(args, input);
  assert.equal(r.code, 0, `bench ${args.join(' ')}: ${r.err}`);
  return r.out;
}

/** A varied text: ASCII, accents, CJK, emoji (byte fallback in small vocabularies), code, whitespace runs. */
const VARIED =
  'Once upon a time, Lily said: "Hi!"\n\tcafé naïve 日本語 🦙🚀\n' +
  'for (let i = 0; i < n; i++) { x += a[i] * 2; }   // three spaces\n\n  two leading spaces, trailing  ';

/** llama.cpp's test input 45 of each vocabulary: whitespace runs, emoji, Khmer, CJK, Cyrillic, quotes, contractions. */
function llamacppVector(vocab: string): { text: string; ids: number[] } {
  const inputs = readFileSync(join(VOCABS, `ggml-vocab-${vocab}.gguf.inp`), 'utf8').split('\n__ggml_vocab_test__\n');
  const outputs = readFileSync(join(VOCABS, `ggml-vocab-${vocab}.gguf.out`), 'utf8').split('\n');
  const i = 45;
  assert.ok(inputs[i]!.length > 300, `input ${i} of ${vocab} is the long varied one`);
  return { text: inputs[i]!, ids: outputs[i]!.trim().split(' ').map(Number) };
}

for (const vocab of ['llama-spm', 'phi-3', 'gpt-2', 'falcon']) {
  test(`vocab-only GGUF ${vocab}: tokenize - matches llama.cpp's ids; detokenize gives the text back`, {
    skip,
  }, () => {
    const model = join(VOCABS, `ggml-vocab-${vocab}.gguf`);
    const { text, ids } = llamacppVector(vocab);
    const got = JSON.parse(ok(['tokenize', '--model', model, '--no-bos', '-'], text));
    assert.deepEqual(got, ids);
    assert.equal(ok(['detokenize', '--model', model, '-'], JSON.stringify(ids)), text);
  });
}

test("BOS follows the vocabulary's own setting unless --no-bos", { skip }, () => {
  const spm = join(VOCABS, 'ggml-vocab-llama-spm.gguf');
  // llama.cpp: "Hello world" -> 15043 3186 (llama-spm .inp/.out), BOS = 1 added by add_bos_token
  assert.deepEqual(JSON.parse(ok(['tokenize', '--model', spm, 'Hello world'])), [1, 15043, 3186]);
  // GPT-2 adds no BOS: "Hello world" is 15496 995 in every GPT-2 vocabulary
  assert.deepEqual(
    JSON.parse(ok(['tokenize', '--model', join(VOCABS, 'ggml-vocab-gpt-2.gguf'), 'Hello world'])),
    [15496, 995],
  );
});

test('llama2.c: stories260K encodes as run.c does and round-trips a varied text', { skip }, () => {
  const ref = readRefVocab(TOK512);
  const ids = JSON.parse(ok(['tokenize', '--model', STORIES, '-'], VARIED));
  assert.deepEqual(ids, referenceEncode(ref, VARIED, true));
  assert.ok(
    ids.some((id: number) => id >= 3 && id < 259),
    'emoji and CJK fall back to byte tokens',
  );
  assert.equal(ok(['detokenize', '--model', STORIES, ids.join(',')]), VARIED); // ids as an argument
});

test('converted Hugging Face folder and llama2.c file tokenize as the original', { skip }, () => {
  const hf = join(tmp, 'stories-hf');
  ok(['convert', STORIES, hf, '--format', 'safetensors']);
  // and back to llama2.c: the tokenizer.bin written beside it comes from the folder's tokenizer.json
  ok(['convert', hf, join(tmp, 'model.bin'), '--format', 'llama2c']);
  const expected = referenceEncode(readRefVocab(TOK512), VARIED, true);
  for (const model of [hf, join(tmp, 'model.bin')]) {
    const ids = JSON.parse(ok(['tokenize', '--model', model, '-'], VARIED));
    assert.deepEqual(ids, expected, model);
    assert.equal(ok(['detokenize', '--model', model, '-'], JSON.stringify(ids)), VARIED, model);
  }
  // --tokenizer replaces the folder's tokenizer.json (a llama2.c tokenizer.bin here, told apart by content)
  assert.deepEqual(JSON.parse(ok(['tokenize', '--model', hf, '--tokenizer', TOK512, '-'], VARIED)), expected);
});

test('bad input: one line naming the problem, exit code 2', { skip }, () => {
  const garbage = join(tmp, 'garbage-tokenizer');
  writeFileSync(garbage, Buffer.from([7, 0, 0, 0, 1, 2, 3]));
  const spm = join(VOCABS, 'ggml-vocab-llama-spm.gguf');
  const cases: [string[], RegExp][] = [
    [['detokenize', '--model', spm, '1, two, 3'], /"two" is not a token id/],
    [['detokenize', '--model', spm, '[1, 32000]'], /token id 32000 is outside the vocabulary \[0, 32000\)/],
    [
      ['tokenize', '--model', join(VOCABS, 'ggml-vocab-bert-bge.gguf'), 'hi'],
      /bert-bge\.gguf: tokenizer\.ggml\.model: "bert"/,
    ],
    [['tokenize', '--model', STORIES, '--tokenizer', garbage, 'hi'], /garbage-tokenizer.*truncated/],
    [
      ['tokenize', '--model', STORIES, '--tokenizer', join(tmp, 'nope.json'), 'hi'],
      /tokenizer not found: .*nope\.json/,
    ],
    [['tokenize', '--model', join(tmp, 'nope.gguf'), 'hi'], /model not found: .*nope\.gguf/],
    [
      ['tokenize', '--model', 'preset:tiny', '--tokenizer', TOK512, 'hi'],
      /--tokenizer cannot be used with preset:tiny/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = bench(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.split('\n').filter((l) => l.trim());
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0]!, pattern);
  }
});

test('ids are parsed from a JSON array or comma/space-separated text', () => {
  assert.deepEqual(parseIds('[1, 15043,3186]'), [1, 15043, 3186]);
  assert.deepEqual(parseIds(' 1, 15043 3186\n'), [1, 15043, 3186]);
  assert.deepEqual(parseIds('1,,2'), [1, 2]);
  assert.deepEqual(parseIds('  '), []);
  assert.deepEqual(parseIds('[]'), []);
  const bad: [string, RegExp][] = [
    ['[1, 2.5]', /^2\.5 is not a token id/],
    ['[1, -3]', /^-3 is not a token id/],
    ['[1, "x"]', /"x" is not a token id/],
    ['1 0x10', /"0x10" is not a token id/],
    ['[1, 2', /not a JSON array/],
    ['[[1]]', /^\[1\] is not a token id/],
  ];
  for (const [text, pattern] of bad) {
    assert.throws(
      () => parseIds(text),
      (e: unknown) => e instanceof BenchError && e.code === 'BAD_INPUT' && pattern.test(e.message),
      text,
    );
  }
});
