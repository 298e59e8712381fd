// Hugging Face folders: a model written as config.json + model.safetensors + tokenizer files reloads with the same
// weights (q/k rows in the half layout) and tokenization; sharded and tied checkpoints; one clear error per problem.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hfConfigJson, writeHfFolder, writeModelSafetensors } from '../../../engine/formats/convert.ts';
import { GgmlType } from '../../../engine/formats/ggml-types.ts';
import { loadHfFolder, loadSafetensorsFile } from '../../../engine/formats/hf.ts';
import { hfFromCanonical } from '../../../engine/formats/names.ts';
import { quantize } from '../../../engine/formats/quant.ts';
import { type SafetensorsOut, writeSafetensors } from '../../../engine/formats/safetensors.ts';
import { tensorShapes } from '../../../engine/model/config.ts';
import { expectError, tinyModel } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'hf-test-'));
const src = tinyModel();
const CORPUS = ['hello abc', ' ab  c', 'ü?', 'abcabc hello\nhello'];

function freshFolder(name: string): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  writeHfFolder(dir, src);
  return dir;
}

const rows = (w: Float32Array, r: number, cols: number) => Array.from(w.subarray(r * cols, (r + 1) * cols));

test('a folder written from a model reloads with the same weights and tokenization', () => {
  const dir = freshFolder('rt');
  const m = loadHfFolder(dir);
  assert.deepEqual(m.config, { ...src.config, ropeLayout: 'half' });
  assert.equal(m.info.format, 'safetensors');
  for (const [name] of tensorShapes(src.config)) {
    if (/\.w[qk]$/.test(name)) continue;
    assert.deepEqual(m.tensor(name).read(), src.tensor(name).read(), name);
  }
  // q/k rows: half-layout row t*4+j of a head (head dim 8) is interleaved row 2j+t.
  const wq = m.tensor('layers.0.wq').read();
  const orig = src.tensor('layers.0.wq').read();
  assert.deepEqual(rows(wq, 4, 32), rows(orig, 1, 32));
  assert.deepEqual(rows(wq, 1, 32), rows(orig, 2, 32));
  assert.deepEqual(rows(wq, 8 + 7, 32), rows(orig, 8 + 7, 32));
  for (const text of CORPUS) {
    const ids = m.tokenizer.encode(text);
    assert.deepEqual(ids, src.tokenizer.encode(text), JSON.stringify(text));
    assert.equal(m.tokenizer.decode(ids), text);
  }
  assert.deepEqual(m.generationDefaults, { eosTokenIds: [2] });
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.architectures[0], 'LlamaForCausalLM');
});

test('F16 and BF16 folders load within their rounding', () => {
  for (const dtype of ['F16', 'BF16'] as const) {
    const dir = join(root, dtype);
    writeHfFolder(dir, src, dtype);
    const m = loadHfFolder(dir);
    const want = src.tensor('layers.1.w1').read();
    const got = m.tensor('layers.1.w1').read();
    const tol = dtype === 'F16' ? 2 ** -11 : 2 ** -8;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= Math.abs(want[i]!) * tol + 1e-7);
  }
});

/** Tensors of the tiny model under Hugging Face names (half layout is irrelevant here: values are only compared). */
function hfTensors(skip: (name: string) => boolean = () => false): SafetensorsOut[] {
  return [...tensorShapes(src.config)]
    .filter(([n]) => !skip(hfFromCanonical(n)))
    .map(([n, shape]) => ({
      name: hfFromCanonical(n),
      dtype: 'F32',
      shape,
      data: () => quantize(GgmlType.F32, src.tensor(n).read()),
    }));
}

test('sharded checkpoints load through model.safetensors.index.json', () => {
  const dir = freshFolder('sharded');
  rmSync(join(dir, 'model.safetensors'));
  const all = hfTensors();
  const half = Math.floor(all.length / 2);
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), all.slice(0, half));
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), all.slice(half));
  const weightMap = Object.fromEntries(
    all.map((t, i) => [t.name, `model-0000${i < half ? 1 : 2}-of-00002.safetensors`]),
  );
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const m = loadHfFolder(dir);
  assert.deepEqual(m.tensor('output').read(), src.tensor('output').read());
  assert.deepEqual(m.tensor('tok_embeddings').read(), src.tensor('tok_embeddings').read());
  rmSync(join(dir, 'model-00002-of-00002.safetensors'));
  expectError(
    () => loadHfFolder(dir),
    'BAD_CHECKPOINT',
    /model\.safetensors\.index\.json: weight_map: lists model-00002-of-00002\.safetensors, which is missing/,
  );
});

test('tied embeddings: lm_head stored alone, the embedding alone, or aliased in metadata', () => {
  const dir = freshFolder('tied');
  const st = join(dir, 'model.safetensors');
  const head = src.tensor('output').read();
  writeSafetensors(
    st,
    hfTensors((n) => n === 'model.embed_tokens.weight'),
  );
  let m = loadHfFolder(dir);
  assert.equal(m.config.tiedClassifier, true);
  assert.deepEqual(m.tensor('tok_embeddings').read(), head, 'the embedding is the stored lm_head');
  writeSafetensors(
    st,
    hfTensors((n) => n === 'lm_head.weight'),
  );
  m = loadHfFolder(dir);
  assert.equal(m.config.tiedClassifier, true);
  assert.ok(!tensorShapes(m.config).has('output'));
  writeSafetensors(
    st,
    hfTensors((n) => n === 'model.embed_tokens.weight'),
    { 'model.embed_tokens.weight': 'lm_head.weight' },
  );
  m = loadHfFolder(dir);
  assert.deepEqual(m.tensor('tok_embeddings').read(), head);
});

test('a lone .safetensors file carries its config; the tokenizer comes from beside it or --tokenizer', () => {
  const dir = join(root, 'lone');
  mkdirSync(dir, { recursive: true });
  writeModelSafetensors(join(dir, 'm.safetensors'), src);
  expectError(
    () => loadSafetensorsFile(join(dir, 'm.safetensors')),
    'BAD_TOKENIZER',
    /no tokenizer\.json; pass .*--tokenizer/,
  );
  const m = loadSafetensorsFile(join(dir, 'm.safetensors'), { tokenizer: join(freshFolder('tok'), 'tokenizer.json') });
  assert.deepEqual(m.config, { ...src.config, ropeLayout: 'half' });
  assert.deepEqual(m.tensor('norm').read(), src.tensor('norm').read());
});

test('generation_config.json defaults', () => {
  const dir = freshFolder('gen');
  writeFileSync(
    join(dir, 'generation_config.json'),
    JSON.stringify({
      do_sample: true,
      temperature: 0.6,
      top_p: 0.9,
      top_k: 40,
      max_new_tokens: 77,
      eos_token_id: [2, 3],
    }),
  );
  assert.deepEqual(loadHfFolder(dir).generationDefaults, {
    temperature: 0.6,
    topP: 0.9,
    topK: 40,
    maxTokens: 77,
    eosTokenIds: [2, 3],
  });
});

test('config.json and folder problems give one clear error each', () => {
  const base = hfConfigJson(src);
  const withConfig = (name: string, cfg: Record<string, unknown>) => {
    const dir = freshFolder(name);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    return dir;
  };
  const cases: [string, 'UNSUPPORTED' | 'BAD_CHECKPOINT' | 'BAD_TOKENIZER', RegExp][] = [
    [
      withConfig('scaling', { ...base, rope_scaling: { rope_type: 'llama3', factor: 8 } }),
      'UNSUPPORTED',
      /config\.json: rope_scaling: "llama3" RoPE scaling/,
    ],
    [withConfig('bias', { ...base, attention_bias: true }), 'UNSUPPORTED', /config\.json: attention_bias/],
    [withConfig('act', { ...base, hidden_act: 'gelu' }), 'UNSUPPORTED', /config\.json: hidden_act: "gelu"/],
    [
      withConfig('arch', { ...base, architectures: ['GPT2LMHeadModel'] }),
      'UNSUPPORTED',
      /config\.json: architectures: GPT2LMHeadModel is not supported/,
    ],
    [
      withConfig('nodim', { ...base, hidden_size: undefined }),
      'BAD_CHECKPOINT',
      /config\.json: hidden_size: expected a positive number/,
    ],
    [
      withConfig('shape', { ...base, intermediate_size: 96 }),
      'BAD_CHECKPOINT',
      /model\.safetensors: tensor model\.layers\.0\.mlp\.gate_proj\.weight: shape \[64,32\] does not match config\.json's \[96,32\]/,
    ],
  ];
  for (const [dir, code, re] of cases) expectError(() => loadHfFolder(dir), code, re);
  const missing = freshFolder('missing');
  writeSafetensors(
    join(missing, 'model.safetensors'),
    hfTensors((n) => n === 'model.layers.1.mlp.up_proj.weight'),
  );
  expectError(
    () => loadHfFolder(missing),
    'BAD_CHECKPOINT',
    /missing: tensor model\.layers\.1\.mlp\.up_proj\.weight: missing/,
  );
  const notok = freshFolder('notok');
  rmSync(join(notok, 'tokenizer.json'));
  expectError(() => loadHfFolder(notok), 'BAD_TOKENIZER', /notok: no tokenizer\.json/);
  const badjson = freshFolder('badjson');
  writeFileSync(join(badjson, 'config.json'), '{"hidden_size": 32,');
  expectError(() => loadHfFolder(badjson), 'BAD_CHECKPOINT', /badjson\/config\.json: JSON: /);
  const i8 = freshFolder('i8');
  const tensors = hfTensors().map((t) =>
    t.name === 'model.norm.weight' ? { ...t, dtype: 'I8' as 'F32', data: () => new Uint8Array(32) } : t,
  );
  writeSafetensors(join(i8, 'model.safetensors'), tensors);
  expectError(() => loadHfFolder(i8), 'BAD_CHECKPOINT', /model\.safetensors: tensor model\.norm\.weight has dtype I8/);
});
