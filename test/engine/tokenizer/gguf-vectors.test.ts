// llama.cpp's own tokenizer vectors (tests/test-tokenizer-0.cpp): every input of every ggml-vocab-*.gguf with
// .inp/.out files must encode to exactly the expected ids (no BOS/EOS, special tokens not parsed) and decode back.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readGguf } from '../../../engine/formats/gguf.ts';
import { tokenizerFromGguf } from '../../../engine/tokenizer/gguf.ts';

const DIR = join(import.meta.dirname, '../../../../shared/models/llamacpp-vocab');
const skip = existsSync(DIR) ? false : `${DIR} is absent (test data lives in ../shared/models)`;
const REQUIRED = [
  'llama-spm',
  'phi-3',
  'gpt-2',
  'falcon',
  'starcoder',
  'refact',
  'deepseek-llm',
  'deepseek-coder',
  'mpt',
];

/** Inputs are separated by "\n__ggml_vocab_test__\n"; a trailing separator ends the list (as the C++ reader). */
function readInputs(path: string): string[] {
  const raw = readFileSync(path, 'utf8');
  const sep = '\n__ggml_vocab_test__\n';
  const out: string[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      out.push(raw.slice(pos));
      break;
    }
    out.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  return out;
}

function readOutputs(path: string): number[][] {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => (l.trim() === '' ? [] : l.trim().split(' ').map(Number)));
}

test('llama.cpp tokenizer vectors', { skip }, async (t) => {
  const vocabs = readdirSync(DIR).filter((f) => f.endsWith('.gguf') && existsSync(join(DIR, `${f}.inp`)));
  const tested: string[] = [];
  for (const file of vocabs) {
    const name = file.replace(/^ggml-vocab-/, '').replace(/\.gguf$/, '');
    const md = readGguf(join(DIR, file)).metadata;
    const model = md.string('tokenizer.ggml.model');
    if (model !== 'llama' && model !== 'gpt2') {
      t.diagnostic(`${name}: skipped, tokenizer model "${model}" is neither SentencePiece nor BPE`);
      continue;
    }
    await t.test(name, () => {
      const tok = tokenizerFromGguf(md);
      const inputs = readInputs(join(DIR, `${file}.inp`));
      const outputs = readOutputs(join(DIR, `${file}.out`));
      assert.equal(inputs.length, outputs.length, 'input and output files list the same number of tests');
      let pass = 0;
      let roundTrip = 0;
      const failures: string[] = [];
      inputs.forEach((text, i) => {
        const ids = tok.encode(text, { bos: false, eos: false, parseSpecial: false });
        if (JSON.stringify(ids) === JSON.stringify(outputs[i])) pass++;
        else failures.push(`${JSON.stringify(text)}: expected ${outputs[i]!.join(' ')}, got ${ids.join(' ')}`);
        const withBos = tok.encode(text, { parseSpecial: false });
        if (tok.decode(ids) === text && tok.decode(withBos) === text) roundTrip++;
        else failures.push(`${JSON.stringify(text)} decodes to ${JSON.stringify(tok.decode(ids))}`);
      });
      t.diagnostic(`${name}: ${pass}/${inputs.length} encodings exact, ${roundTrip}/${inputs.length} round-trip`);
      assert.deepEqual(failures, []);
    });
    tested.push(name);
  }
  for (const r of REQUIRED) assert.ok(tested.includes(r), `vocab ${r} was tested`);
});

test('chat template and BOS/EOS settings come from the metadata', { skip }, () => {
  const phi3 = tokenizerFromGguf(readGguf(join(DIR, 'ggml-vocab-phi-3.gguf')).metadata);
  assert.match(phi3.chatTemplate ?? '', /<\|user\|>/);
  assert.equal(phi3.eos, 32000);
  assert.deepEqual(phi3.encode('Hi').slice(0, 1), [1], 'add_bos_token');
  const falcon = tokenizerFromGguf(readGguf(join(DIR, 'ggml-vocab-falcon.gguf')).metadata);
  assert.equal(falcon.encode('Hi')[0] === 11, false, 'BPE vocabularies add no BOS unless the file says so');
});

test('vocab-only files without vectors load and round-trip', { skip }, () => {
  const corpus = [
    'Hello world',
    ' leading space',
    'tabs\tand\nnewlines\n\n',
    'café naïve 日本語 🦙',
    'x = f(a, b) // ok',
  ];
  for (const file of ['ggml-vocab-baichuan.gguf', 'ggml-vocab-gpt-neox.gguf']) {
    if (!existsSync(join(DIR, file))) continue;
    const tok = tokenizerFromGguf(readGguf(join(DIR, file)).metadata);
    for (const text of corpus) {
      const ids = tok.encode(text, { bos: false });
      assert.ok(ids.length > 0 && ids.every((id) => id >= 0 && id < tok.vocabSize), `${file}: ids in range`);
      assert.equal(tok.decode(ids), text, `${file}: ${JSON.stringify(text)}`);
    }
  }
});
