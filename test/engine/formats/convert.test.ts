// stories260K (llama2.c) converted to GGUF and to a Hugging Face folder reloads and generates the same greedy
// tokens on the CPU reference: F32 exactly (and the llama2.c golden text), quantized types close to it; the
// converted tokenizers encode exactly as the llama2.c tokenizer does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type GgufOutType, writeHfFolder, writeModelGguf } from '../../../engine/formats/convert.ts';
import { loadGguf } from '../../../engine/formats/gguf-model.ts';
import { loadHfFolder } from '../../../engine/formats/hf.ts';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { sharedModels } from '../model/shared-models.ts';

const { dir: MODELS, skip } = sharedModels();
const out = mkdtempSync(join(tmpdir(), 'convert-test-'));
const STEPS = 200;
const CORPUS = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.',
  'One day, Tim said: "Can I have the red ball?"\nMom smiled.',
  '  two leading spaces, trailing  ',
  'unicode: café 日本 🦙',
];

let source: LoadedModel;
let reference: number[];
async function setup(): Promise<void> {
  source ??= await loadModel(join(MODELS, 'stories260K/stories260K.bin'));
  reference ??= new CpuReference(source).greedy([source.tokenizer.bos], STEPS);
}

const agreePrefix = (a: number[], b: number[]) => {
  let n = 0;
  while (n < a.length && a[n] === b[n]) n++;
  return n;
};

test('the llama2.c reference generates the golden text', { skip }, async () => {
  await setup();
  const golden = readFileSync(join(MODELS, 'stories260K/expected-greedy-200.txt'), 'utf8');
  assert.equal(source.tokenizer.decode(reference, source.tokenizer.bos), golden);
});

/** Minimum greedy agreement (leading tokens) for each stored type; F32 must be exact. */
const MIN_PREFIX: Record<GgufOutType, number> = { f32: STEPS, f16: 50, bf16: 10, q8_0: 30, q4_0: 5, q4_1: 5 };

for (const type of ['f32', 'f16', 'q8_0', 'q4_0'] as GgufOutType[]) {
  test(`stories260K -> GGUF ${type} -> greedy tokens`, { skip }, async () => {
    await setup();
    const path = join(out, `stories260K-${type}.gguf`);
    writeModelGguf(path, source, type);
    const m = loadGguf(path);
    assert.deepEqual(m.config, { ...source.config, normEps: Math.fround(source.config.normEps) });
    if (type === 'f32') {
      for (const name of ['tok_embeddings', 'layers.4.wq', 'layers.2.w2', 'norm']) {
        assert.deepEqual(m.tensor(name).read(), source.tensor(name).read(), name);
      }
    }
    const tokens = new CpuReference(m).greedy([m.tokenizer.bos], STEPS);
    const prefix = agreePrefix(tokens, reference);
    assert.ok(prefix >= MIN_PREFIX[type], `${type}: first ${prefix} greedy tokens agree, need ${MIN_PREFIX[type]}`);
    for (const text of CORPUS) {
      assert.deepEqual(m.tokenizer.encode(text), source.tokenizer.encode(text), JSON.stringify(text));
      assert.equal(m.tokenizer.decode(m.tokenizer.encode(text, { bos: false })), text);
    }
  });
}

test('stories260K -> Hugging Face folder -> same greedy tokens and tokenization', { skip }, async () => {
  await setup();
  const dir = join(out, 'stories260K-hf');
  writeHfFolder(dir, source);
  const m = loadHfFolder(dir);
  assert.equal(m.config.ropeLayout, 'half');
  assert.deepEqual(new CpuReference(m).greedy([m.tokenizer.bos], STEPS), reference);
  for (const text of CORPUS) {
    assert.deepEqual(m.tokenizer.encode(text), source.tokenizer.encode(text), JSON.stringify(text));
    assert.equal(m.tokenizer.decode(m.tokenizer.encode(text, { bos: false })), text);
  }
  // And back: the folder converted to GGUF is the llama2.c model again.
  writeModelGguf(join(out, 'from-hf.gguf'), m, 'f32');
  const g = loadGguf(join(out, 'from-hf.gguf'));
  assert.deepEqual(g.tensor('layers.3.wk').read(), source.tensor('layers.3.wk').read());
});
