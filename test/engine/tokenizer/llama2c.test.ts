import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BenchError } from '../../../engine/errors.ts';
import { loadLlama2cTokenizer } from '../../../engine/tokenizer/llama2c.ts';
import { sharedModels } from '../model/shared-models.ts';
import { readRefVocab, referenceEncode, rng } from './llama2c-reference.ts';

const { dir: models, skip } = sharedModels();
const LLAMA2 = join(models, 'llama2-tokenizer/tokenizer.bin');
const TOK512 = join(models, 'stories260K/tok512.bin');

/** Random text mixing ASCII words, whitespace runs, accents, CJK, emoji and whole vocabulary pieces. */
function randomTexts(vocabPieces: Buffer[], seed: number, count: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const atoms = [
    'the',
    ' the',
    'Hello',
    'world',
    ' ',
    '  ',
    '\n',
    '\n\n',
    '\t',
    'é',
    'ü',
    'ß',
    'ñ',
    '中文',
    '日本語',
    '한국어',
    '😀',
    '🦙',
    '👩‍👩‍👧',
    '🇫🇷',
    'Ω',
    '∑',
    '—',
    '«',
    '»',
    '1',
    '42',
    '3.14',
    ',',
    '.',
    '!',
    '?',
    '"',
    "'",
    '<0x41>',
    '<s>',
    'x',
    'Q',
    'zz',
    '\u00a0',
    '\u200b',
    '\ufeff',
  ];
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = 1 + Math.floor(r() * 25);
    for (let k = 0; k < n; k++) {
      const u = r();
      if (u < 0.5) s += pick(atoms);
      else if (u < 0.8) s += pick(vocabPieces).toString('utf8');
      else s += String.fromCodePoint(0x20 + Math.floor(r() * 0x2ff0));
    }
    texts.push(s);
  }
  return texts;
}

describe('llama2.c tokenizer: Llama 2 vocabulary (32000)', { skip }, () => {
  const tok = skip ? undefined! : loadLlama2cTokenizer(LLAMA2);

  test('reads the vocabulary', () => {
    assert.equal(tok.vocabSize, 32000);
    assert.equal(tok.bos, 1);
    assert.equal(tok.eos, 2);
    assert.equal(tok.maxTokenLength, 27);
  });

  // Expected ids: llama2.c test.c (taken there from Meta's Python tokenizer), plus "Hello world".
  const known: [string, number[]][] = [
    ['', [1]],
    ['Hello world', [1, 15043, 3186]],
    ['I believe the meaning of life is', [1, 306, 4658, 278, 6593, 310, 2834, 338]],
    [
      'Simply put, the theory of relativity states that ',
      [1, 3439, 17632, 1925, 29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871],
    ],
    [
      'A brief message congratulating the team on the launch:\n\n        Hi everyone,\n\n        I just ',
      [
        1, 319, 11473, 2643, 378, 629, 271, 18099, 278, 3815, 373, 278, 6826, 29901, 13, 13, 4706, 6324, 14332, 29892,
        13, 13, 4706, 306, 925, 29871,
      ],
    ],
    [
      'Translate English to French:\n\n        sea otter => loutre de mer\n        peppermint => menthe poivrée\n        plush girafe => girafe peluche\n        cheese =>',
      [
        1, 4103, 9632, 4223, 304, 5176, 29901, 13, 13, 4706, 7205, 4932, 357, 1149, 301, 449, 276, 316, 2778, 13, 4706,
        1236, 407, 837, 524, 1149, 6042, 354, 772, 440, 29878, 1318, 13, 4706, 715, 1878, 330, 3055, 1725, 1149, 330,
        3055, 1725, 4639, 28754, 13, 4706, 923, 968, 1149,
      ],
    ],
  ];
  for (const [text, ids] of known) {
    test(`encodes ${JSON.stringify(text.slice(0, 40))} to the known ids`, () => {
      assert.deepEqual(tok.encode(text), ids);
    });
  }

  test('bos: false leaves BOS out; the dummy-prefix space stays', () => {
    assert.deepEqual(tok.encode('Hello world', { bos: false }), [15043, 3186]);
    assert.deepEqual(tok.encode('', { bos: false }), []);
  });

  test('byte fallback: an emoji outside the vocabulary becomes its UTF-8 bytes + 3', () => {
    // U+1F600 is F0 9F 98 80 in UTF-8; 29871 is the lone dummy-prefix space (as in the test.c vectors above)
    assert.deepEqual(tok.encode('😀', { bos: false }), [29871, 0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3]);
  });

  test('matches the naive run.c algorithm on random text', () => {
    const ref = readRefVocab(LLAMA2);
    for (const text of randomTexts(ref.pieces, 1, 150)) {
      assert.deepEqual(tok.encode(text), referenceEncode(ref, text, true), JSON.stringify(text));
    }
  });

  test('decode inverts encode, dropping the dummy-prefix space after BOS', () => {
    for (const text of ['Hello world', ' two  spaces ', 'poivrée 😀\n\tend', '中文 🦙', '']) {
      assert.equal(tok.decode(tok.encode(text)), text);
      assert.equal(tok.decode(tok.encode(text, { bos: false }), tok.bos), text);
    }
    assert.equal(tok.decode([15043, 3186]), ' Hello world'); // no BOS before: the space is text
    assert.equal(tok.decode([15043], 1), 'Hello');
    assert.equal(tok.decode([1, 15043, 2]), 'Hello'); // control tokens print nothing
  });

  test('tokenBytes: byte-fallback tokens give their byte, BOS/EOS nothing', () => {
    assert.deepEqual([...tok.tokenBytes(0xe2 + 3)], [0xe2]);
    assert.deepEqual([...tok.tokenBytes(15043)], [...Buffer.from(' Hello')]);
    assert.equal(tok.tokenBytes(1).length, 0);
    assert.throws(
      () => tok.tokenBytes(32000),
      (e: unknown) => e instanceof BenchError && e.code === 'BAD_INPUT',
    );
  });

  test('long prompts encode fast (heap merges, not O(n^2) rescans)', () => {
    const text = 'Once upon a time, in a land far away, there lived a curious llama 🦙 named Ünïcödé.\n'.repeat(120);
    const t0 = performance.now();
    const ids = tok.encode(text);
    const ms = performance.now() - t0;
    assert.ok(ids.length > 3000, `${ids.length} tokens`);
    assert.ok(ms < 1000, `encoding ${ids.length} tokens took ${ms.toFixed(0)} ms`);
    assert.equal(tok.decode(ids), text);
  });
});

describe('llama2.c tokenizer: stories260K vocabulary (512)', { skip }, () => {
  test('matches the naive run.c algorithm on random text', () => {
    const tok = loadLlama2cTokenizer(TOK512, 512);
    assert.equal(tok.vocabSize, 512);
    const ref = readRefVocab(TOK512);
    const texts = ['Once upon a time', 'Lily and Ben were friends.\n"Hi!"', ...randomTexts(ref.pieces, 2, 150)];
    for (const text of texts) {
      assert.deepEqual(tok.encode(text), referenceEncode(ref, text, true), JSON.stringify(text));
      assert.deepEqual(tok.encode(text, { bos: false }), referenceEncode(ref, text, false), JSON.stringify(text));
      assert.equal(tok.decode(tok.encode(text)), text);
    }
  });
});

describe('llama2.c tokenizer: bad files', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tok-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const isErr =
    (code: string, ...parts: string[]) =>
    (e: unknown) =>
      e instanceof BenchError && e.code === code && parts.every((p) => e.message.includes(p));

  test('truncated file', () => {
    const p = join(tmp, 'truncated.bin');
    const full = readFileSync(TOK512);
    writeFileSync(p, full.subarray(0, full.length - 3));
    assert.throws(() => loadLlama2cTokenizer(p), isErr('BAD_TOKENIZER', p, 'truncated'));
  });

  test('garbage file', () => {
    const p = join(tmp, 'garbage.bin');
    writeFileSync(p, Buffer.from('this is not a tokenizer, just some text\n'.repeat(20)));
    assert.throws(() => loadLlama2cTokenizer(p), isErr('BAD_TOKENIZER', p));
  });

  test('too few tokens for byte fallback', () => {
    const p = join(tmp, 'tiny.bin');
    const full = readFileSync(TOK512);
    // header + the first 10 records of the real file
    let o = 4;
    for (let i = 0; i < 10; i++) o += 8 + full.readInt32LE(o + 4);
    writeFileSync(p, full.subarray(0, o));
    assert.throws(() => loadLlama2cTokenizer(p), isErr('BAD_TOKENIZER', p, 'only 10 tokens'));
  });

  test('missing file', () => {
    const p = join(tmp, 'nope.bin');
    assert.throws(() => loadLlama2cTokenizer(p), isErr('FILE_NOT_FOUND', p));
  });

  test('vocabulary size other than asked for', () => {
    assert.throws(() => loadLlama2cTokenizer(TOK512, 32000), isErr('BAD_TOKENIZER', TOK512, '512', '32000'));
  });
});
