// bench eval: the GPU NLL equals the CPU reference's, and each weight format stays within its quality bound
// against f32 on stories260K: f16 and bf16 within 1%, int8 within 3%, int4 (groups of 32) within 15% relative NLL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadModel } from '../../../engine/model/load.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { getWeightFormat, type WeightFormat } from '../../../engine/ops/weight-formats.ts';
import { CpuReference } from '../../../engine/reference/cpu-forward.ts';
import { gpuNll } from '../../helpers/nll.ts';

const SHARED = '../shared/models/stories260K';
const noShared = !existsSync(SHARED) && `${SHARED} not found`;
const TEXT = readFileSync('test/fixtures/story.txt', 'utf8');

function cpuNll(model: LoadedModel, ids: number[]): number {
  const logits = new CpuReference(model).forward(ids.slice(0, -1), 0);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const row = logits[i]!;
    const max = Math.max(...row);
    const z = row.reduce((a, v) => a + Math.exp(v - max), 0);
    sum += Math.log(z) + max - row[ids[i + 1]!]!;
  }
  return sum / logits.length;
}

test('f32 NLL on the GPU equals the CPU reference (relative 1e-5)', { skip: noShared }, async () => {
  const model = await loadModel(`${SHARED}/stories260K.bin`, { tokenizer: `${SHARED}/tok512.bin` });
  const ids = model.tokenizer.encode(TEXT).slice(0, 300); // inside one window, so both score the same positions
  const g = await gpuNll(model, ids);
  const c = cpuNll(model, ids);
  assert.equal(g.tokens, ids.length - 1);
  assert.ok(Math.abs(g.nll - c) / c < 1e-5, `gpu ${g.nll} vs cpu ${c}`);
});

test('weight formats stay within their NLL bounds against f32 (stories260K)', { skip: noShared }, async () => {
  const model = await loadModel(`${SHARED}/stories260K.bin`, { tokenizer: `${SHARED}/tok512.bin` });
  const ids = model.tokenizer.encode(TEXT);
  const base = (await gpuNll(model, ids)).nll;
  const bounds: [WeightFormat, number][] = [
    [getWeightFormat('f16'), 0.01],
    [getWeightFormat('bf16'), 0.01],
    [getWeightFormat('int8'), 0.03],
    [getWeightFormat('int4', { groupSize: 32 }), 0.15],
  ];
  for (const [format, bound] of bounds) {
    const nll = (await gpuNll(model, ids, { weightFormat: format })).nll;
    const rel = Math.abs(nll - base) / base;
    process.stdout.write(
      `# ${format.name}: NLL ${nll.toFixed(4)} vs f32 ${base.toFixed(4)} (${(rel * 100).toFixed(2)}%)\n`,
    );
    assert.ok(rel <= bound, `${format.name}: ${(rel * 100).toFixed(2)}% > ${bound * 100}%`);
  }
});

test('bench eval --json prints tokens, nll and ppl', () => {
  const r = spawnSync(
    process.execPath,
    ['bin/bench.js', 'eval', '--model', 'preset:tiny', '--text', 'test/fixtures/story.txt', '--json'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.tokens, Buffer.byteLength(TEXT)); // byte-level: one token per byte, BOS first, every byte scored
  assert.ok(j.nll > 0 && Math.abs(j.ppl - Math.exp(j.nll)) < 1e-9);
});
