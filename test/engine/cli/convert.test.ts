// `bench convert` as users run it (real child processes): stories260K written as GGUF F32/Q8_0/Q4_0, as a Hugging
// Face folder and back as llama2.c reloads through loadModel and generates what the llama2.c file generates (F32
// exactly; quantized types equal to the CPU reference on the same file, within issue 5's quality bounds of F32).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeModelGguf } from '../../../engine/formats/convert.ts';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { tinyModel } from '../formats/fixtures.ts';
import { sharedModels } from '../model/shared-models.ts';

const { dir: MODELS, skip } = sharedModels();
const STORIES = join(MODELS, 'stories260K/stories260K.bin');
const TOK512 = join(MODELS, 'stories260K/tok512.bin');
const tmp = mkdtempSync(join(tmpdir(), 'convert-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const at = (name: string) => join(tmp, name);

function bench(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/bench.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(...args: string[]): string {
  const r = bench(...args);
  assert.equal(r.code, 0, `bench ${args.join(' ')}: ${r.err}`);
  return r.out;
}

let converted = false;
/** The conversions every test below reads; done once, by the CLI. */
function convertAll(): void {
  if (converted) return;
  for (const q of ['f32', 'q8_0', 'q4_0']) {
    assert.match(ok('convert', STORIES, at(`s-${q}.gguf`), '--format', 'gguf', '--quant', q), /wrote .*gguf/);
  }
  ok('convert', STORIES, at('hf'), '--format', 'safetensors');
  converted = true;
}

const PROMPT = 'Once upon a time';
const STEPS = '64';
function generateIds(model: string): number[] {
  const out = ok('generate', '--model', model, '--prompt', PROMPT, '--max-tokens', STEPS, '--ignore-eos', '--json');
  const ids = JSON.parse(out).tokenIds as number[];
  assert.equal(ids.length, Number(STEPS), model);
  return ids;
}

test('converted files reload through loadModel with the same shape and weights', { skip }, async () => {
  convertAll();
  const src = await loadModel(STORIES);
  assert.deepEqual(readdirSync(at('hf')).sort(), [
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  for (const q of ['f32', 'q8_0', 'q4_0']) {
    const m = await loadModel(at(`s-${q}.gguf`));
    assert.equal(m.info.format, 'gguf');
    assert.deepEqual(m.config, { ...src.config, normEps: Math.fround(1e-5) }, q);
  }
  const f32 = await loadModel(at('s-f32.gguf'));
  const hf = await loadModel(at('hf'));
  assert.deepEqual(hf.config, { ...src.config, ropeLayout: 'half' });
  for (const name of ['tok_embeddings', 'layers.0.wq', 'layers.4.w2', 'norm']) {
    assert.deepEqual(f32.tensor(name).read(), src.tensor(name).read(), name);
  }
  // safetensors stores q/k in the half-split RoPE order; the other tensors are the same numbers
  assert.deepEqual(hf.tensor('layers.2.w3').read(), src.tensor('layers.2.w3').read());
  assert.notDeepEqual(hf.tensor('layers.2.wq').read(), src.tensor('layers.2.wq').read());
});

test('GGUF F32 and the Hugging Face folder generate the llama2.c file’s greedy tokens exactly', { skip }, () => {
  convertAll();
  const expected = generateIds(STORIES);
  assert.deepEqual(generateIds(at('s-f32.gguf')), expected, 'GGUF F32');
  assert.deepEqual(generateIds(at('hf')), expected, 'Hugging Face folder');
});

test('bench generate --model FOLDER prints the same text as on the .bin', { skip }, () => {
  convertAll();
  const args = ['--prompt', PROMPT, '--max-tokens', '80', '--temperature', '0'];
  const text = ok('generate', '--model', STORIES, ...args);
  assert.ok(text.length > 100, text);
  assert.equal(ok('generate', '--model', at('hf'), ...args), text);
});

/** Mean NLL per token of `ids` (teacher-forced) and each position's argmax, on the f64 CPU reference. */
function score(m: LoadedModel, ids: number[]): { nll: number; top: number[] } {
  const rows = new CpuReference(m).forward(ids.slice(0, -1), 0);
  let sum = 0;
  const top: number[] = [];
  rows.forEach((row, i) => {
    let max = -Infinity;
    let arg = 0;
    for (let j = 0; j < row.length; j++) {
      if (row[j]! > max) {
        max = row[j]!;
        arg = j;
      }
    }
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    sum += Math.log(z) + max - row[ids[i + 1]!]!;
    top.push(arg);
  });
  return { nll: sum / rows.length, top };
}

// A story written for this test (not model output), so NLL is measured on text the model did not choose.
const TEXT =
  'Tom and his dog Max went to the river. The water was cold and blue. Max jumped in and swam after a stick. ' +
  'Tom laughed and clapped his hands. Then a big fish came up and said hello! Max was scared and ran back to Tom. ' +
  'They sat under a tree and ate apples until the sun went down. The end.';

/**
 * Issue 5's bounds on relative NLL against F32 (int8 within 3%, int4 group-32 within 15%); Q8_0 and Q4_0 are those
 * schemes with groups of 32. Measured on stories260K: Q8_0 -0.13% NLL, 99.3% top-1; Q4_0 +7.1% NLL, 82.4% top-1.
 */
const BOUNDS = { q8_0: { nll: 0.03, top1: 0.95 }, q4_0: { nll: 0.15, top1: 0.75 } };

test('GGUF Q8_0 and Q4_0: the engine decodes what the CPU reference decodes; quality within bounds of F32', {
  skip,
}, async (t) => {
  convertAll();
  const src = await loadModel(STORIES);
  const ids = src.tokenizer.encode(TEXT);
  const base = score(src, ids);
  for (const q of ['q8_0', 'q4_0'] as const) {
    const path = at(`s-${q}.gguf`);
    const m = await loadModel(path);
    // The same dequantized weights on the GPU and on the f64 reference: the same greedy tokens.
    const reference = new CpuReference(m).greedy(m.tokenizer.encode(PROMPT), Number(STEPS));
    assert.deepEqual(generateIds(path), reference, `${q}: engine vs CPU reference`);
    const s = score(m, ids);
    const rel = (s.nll - base.nll) / base.nll;
    const top1 = s.top.filter((id, i) => id === base.top[i]).length / s.top.length;
    t.diagnostic(
      `${q}: NLL ${s.nll.toFixed(4)} vs F32 ${base.nll.toFixed(4)} (${(100 * rel).toFixed(2)}%), top-1 ${(100 * top1).toFixed(1)}%`,
    );
    assert.ok(Math.abs(rel) <= BOUNDS[q].nll, `${q}: relative NLL change ${rel}`);
    assert.ok(top1 >= BOUNDS[q].top1, `${q}: top-1 agreement ${top1}`);
  }
});

test('llama2.c output: the original tensors byte for byte, and tok512.bin beside it', { skip }, () => {
  convertAll();
  mkdirSync(at('l2c'));
  const out = join(at('l2c'), 'model.bin');
  const r = bench('convert', at('s-f32.gguf'), out, '--format', 'llama2c');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /tokenizer\.bin/);
  const original = readFileSync(STORIES);
  const written = readFileSync(out);
  assert.equal(written.length, original.length);
  // header and tensors, then freq_cis tables [512, 4] x 2 that torch computed in f32 and the writer in f64
  const tables = original.length - 2 * 4 * 512 * 4;
  assert.ok(written.subarray(0, tables).equals(original.subarray(0, tables)), 'header and tensors');
  for (let o = tables; o < original.length; o += 4) {
    assert.ok(Math.abs(written.readFloatLE(o) - original.readFloatLE(o)) < 1e-5, `freq_cis at ${o}`);
  }
  assert.ok(readFileSync(join(at('l2c'), 'tokenizer.bin')).equals(readFileSync(TOK512)), 'tokenizer.bin');
});

test('llama2.c refuses what its format cannot express and leaves the old file alone', async () => {
  const theta = at('theta.gguf');
  writeModelGguf(theta, { ...tinyModel(), config: { ...tinyModel().config, ropeTheta: 500000 } });
  const out = at('theta.bin');
  writeFileSync(out, 'old');
  const r = bench('convert', theta, out, '--format', 'llama2c');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /cannot be written as llama2\.c: RoPE theta is 500000/);
  assert.equal(readFileSync(out, 'utf8'), 'old');
});

test('bad input: a corrupt or truncated file of each format gives one line naming file and cause, exit 2', {
  skip,
}, () => {
  convertAll();
  const cut = (from: string, to: string, bytes: number) => writeFileSync(to, readFileSync(from).subarray(0, bytes));
  cut(STORIES, at('cut.bin'), 500_000);
  cut(at('s-f32.gguf'), at('cut.gguf'), 600_000);
  const huge = readFileSync(at('s-f32.gguf'));
  huge.writeBigUInt64LE(1n << 40n, 8); // tensor count
  writeFileSync(at('count.gguf'), huge);
  cut(join(at('hf'), 'model.safetensors'), at('cut.safetensors'), 400_000);
  const st = readFileSync(join(at('hf'), 'model.safetensors'));
  st.write('!!!!', 20, 'latin1'); // inside the JSON header
  writeFileSync(at('header.safetensors'), st);
  cpSync(at('hf'), at('hf-config'), { recursive: true });
  writeFileSync(join(at('hf-config'), 'config.json'), '{"hidden_size": 64,');
  cpSync(at('hf'), at('hf-cut'), { recursive: true });
  cut(join(at('hf'), 'model.safetensors'), join(at('hf-cut'), 'model.safetensors'), 300_000);

  const cases: [string, string[], RegExp][] = [
    ['truncated llama2.c', [at('cut.bin')], /cut\.bin: truncated: expected 1056540 bytes, got 500000/],
    ['truncated GGUF', [at('cut.gguf')], /cut\.gguf: tensor .*runs past the end of the file.*truncated/],
    ['corrupt GGUF', [at('count.gguf')], /count\.gguf: tensor count: value 1099511627776 exceeds/],
    ['truncated safetensors', [at('cut.safetensors')], /cut\.safetensors: tensor .*truncated/],
    ['corrupt safetensors', [at('header.safetensors')], /header\.safetensors: header: not valid JSON/],
    ['corrupt config.json', [at('hf-config')], /hf-config\/config\.json: JSON: .*corrupt or truncated/],
    ['truncated folder weights', [at('hf-cut')], /hf-cut\/model\.safetensors: tensor .*truncated/],
  ];
  mkdirSync(at('outs'));
  for (const [name, input, pattern] of cases) {
    const out = join(at('outs'), 'out.gguf');
    const r = bench('convert', ...input, out, '--format', 'gguf');
    assert.equal(r.code, 2, `${name}: ${r.err}`);
    const lines = r.err.split('\n').filter((l) => l.trim());
    assert.equal(lines.length, 1, `${name}: ${r.err}`);
    assert.match(lines[0]!, pattern, name);
    assert.deepEqual(readdirSync(at('outs')), [], `${name}: nothing written`);
  }
  const usage: [string[], RegExp][] = [
    [[STORIES, at('x'), '--format', 'safetensors', '--quant', 'q4_0'], /--quant q4_0 cannot be stored as safetensors/],
    [[STORIES, join(at('no-such-dir'), 'x.gguf'), '--format', 'gguf'], /cannot write .*no-such-dir\/x\.gguf/],
    [[STORIES, at('x'), '--format', 'onnx'], /--format must be one of gguf, safetensors, llama2c/],
  ];
  for (const [args, pattern] of usage) {
    const r = bench('convert', ...args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, pattern);
    assert.equal(existsSync(at('x')), false);
  }
});
