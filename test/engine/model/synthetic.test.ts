import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parameterCount, tensorNames, tensorShapes } from '../../../engine/model/config.ts';
import { noiseValue } from '../../../engine/model/noise.ts';
import {
  buildSynthetic,
  draftPresetOf,
  loadPreset,
  PRESETS,
  type PresetSpec,
  presetNames,
} from '../../../engine/model/synthetic.ts';
import { neighbors, successors } from '../../../engine/model/synthetic-chain.ts';
import type { LoadedModel } from '../../../engine/model/weights.ts';
import { argmax, CpuReference } from '../../../engine/reference/cpu-forward.ts';

// 212 bytes of ordinary English: the contexts on which target and draft are compared.
const TEXT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw ' +
  'a big, red ball. She wanted to play with it, but it was too high. Her mom said, "Lily, let us go home now."';

// Bands around the rates measured when the presets were tuned (0.825 and 0.75; engine/model/synthetic.ts).
const [TF_LOW, TF_HIGH] = [0.75, 0.9];
const [GREEDY_LOW, GREEDY_HIGH] = [0.65, 0.85];

/** Share of the 200 positions of TEXT at which both models' greedy next token is the same (teacher forcing). */
function agreement(target: LoadedModel, draft: LoadedModel): number {
  const ids = target.tokenizer.encode(TEXT).slice(0, 200);
  const a = new CpuReference(target).forward(ids, 0);
  const b = new CpuReference(draft).forward(ids, 0);
  return a.filter((row, i) => argmax(row) === argmax(b[i]!)).length / ids.length;
}

/** The same along the target's own greedy continuation of `prompt` (what greedy speculative decoding meets). */
function greedyAgreement(target: LoadedModel, draft: LoadedModel, prompt: string, n: number): number {
  const ids = target.tokenizer.encode(prompt);
  const gen = new CpuReference(target).greedy(ids, n);
  const rows = new CpuReference(draft).forward([...ids, ...gen].slice(0, -1), 0).slice(ids.length - 1);
  return rows.filter((row, i) => argmax(row) === gen[i]).length / n;
}

test('unknown preset: UNKNOWN_PRESET naming the known ones', () => {
  assert.throws(
    () => loadPreset('huge'),
    (e: Error & { code?: string }) =>
      e.code === 'UNKNOWN_PRESET' && /preset:tiny\b/.test(e.message) && /preset:llama-7b-draft/.test(e.message),
  );
  assert.deepEqual(presetNames().sort(), [
    'llama-1b',
    'llama-1b-draft',
    'llama-7b',
    'llama-7b-draft',
    'tiny',
    'tiny-draft',
  ]);
});

test('preset shapes: Llama dimensions, every tensor present with its shape', () => {
  const dims = (name: keyof typeof PRESETS) => {
    const c = PRESETS[name].config;
    return [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.headDim, c.vocabSize, c.tiedClassifier];
  };
  assert.deepEqual(dims('tiny'), [128, 352, 6, 8, 4, 16, 259, false]);
  assert.deepEqual(dims('llama-1b'), [2048, 8192, 16, 32, 8, 64, 128256, true]); // Llama-3.2-1B
  assert.equal(PRESETS['llama-1b'].config.ropeTheta, 500000);
  assert.deepEqual(dims('llama-7b'), [4096, 11008, 32, 32, 32, 128, 32000, false]); // Llama-2-7B
  const tinyParams = parameterCount(PRESETS.tiny.config);
  assert.ok(tinyParams > 0.5e6 && tinyParams < 1.2e6, `tiny has ${tinyParams} parameters`);
  assert.ok(Math.abs(parameterCount(PRESETS['llama-7b'].config) / 6.74e9 - 1) < 0.01);
  assert.ok(Math.abs(parameterCount(PRESETS['llama-1b'].config) / 1.236e9 - 1) < 0.01);
  for (const name of presetNames()) {
    const m = loadPreset(name);
    assert.equal(m.info.name, `preset:${name}`);
    assert.equal(m.info.format, 'synthetic');
    assert.equal(m.info.synthetic, true);
    assert.equal(m.tokenizer.vocabSize, m.config.vocabSize);
    for (const [t, shape] of tensorShapes(m.config)) assert.deepEqual(m.tensor(t).shape, shape, `${name} ${t}`);
  }
});

test('big presets: every layer matrix is a noise source whose read() is exactly its definition', () => {
  for (const name of ['llama-1b', 'llama-7b', 'llama-7b-draft'] as const) {
    const m = loadPreset(name);
    for (let l = 0; l < m.config.nLayers; l++) {
      for (const t of ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const) {
        const src = m.tensor(tensorNames[t](l));
        assert.ok(src.noise, `${name} ${tensorNames[t](l)} is not a noise source`);
        assert.equal(Math.fround(src.noise.scale), src.noise.scale, 'scales are f32 so GPU and CPU agree');
      }
    }
  }
  const src = loadPreset('llama-7b').tensor(tensorNames.w2(31));
  const data = src.read(); // 45M values: one tensor at a time
  const { seed, scale } = src.noise!;
  for (const i of [0, 1, 12345, data.length - 1]) assert.equal(data[i], Math.fround(scale * noiseValue(seed, i)));
  assert.ok(loadPreset('llama-7b').tensor(tensorNames.classifier).noise, 'untied classifier rows are noise keys');
});

test('deterministic: two loads give identical weights', () => {
  const a = loadPreset('tiny');
  const b = loadPreset('tiny');
  for (const name of tensorShapes(a.config).keys()) {
    assert.deepEqual(a.tensor(name).read(), b.tensor(name).read(), name);
  }
});

test('a draft preset is its target with fewer layers: shared chain, embedding, classifier, layer tensors', () => {
  for (const [draftName, targetName] of [
    ['tiny-draft', 'tiny'],
    ['llama-1b-draft', 'llama-1b'],
    ['llama-7b-draft', 'llama-7b'],
  ] as const) {
    const d = loadPreset(draftName);
    const t = loadPreset(targetName);
    assert.deepEqual({ ...d.config, nLayers: 0 }, { ...t.config, nLayers: 0 });
    assert.ok(d.config.nLayers < t.config.nLayers);
    for (let l = 0; l < d.config.nLayers; l++) {
      for (const f of ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const) {
        assert.deepEqual(d.tensor(tensorNames[f](l)).noise, t.tensor(tensorNames[f](l)).noise, `${draftName} ${f}`);
      }
    }
    if (!t.config.tiedClassifier) {
      assert.deepEqual(d.tensor(tensorNames.classifier).noise, t.tensor(tensorNames.classifier).noise);
    }
  }
  assert.equal(draftPresetOf('llama-7b'), 'llama-7b-draft');
  assert.equal(draftPresetOf('tiny-draft'), undefined);
  const d = loadPreset('tiny-draft');
  const t = loadPreset('tiny');
  for (const name of [tensorNames.embedding, tensorNames.finalNorm, tensorNames.attnNorm(0)]) {
    assert.deepEqual(d.tensor(name).read(), t.tensor(name).read(), name);
  }
});

test('chain: a few successors per token, never itself, <unk> or BOS; EOS rare and last', () => {
  let eos = 0;
  let words = 0;
  let total = 0;
  for (let t = 0; t < 32000; t++) {
    const { ids, logits } = successors({ vocabSize: 32000, seed: 9 }, t);
    if (t === 2) {
      assert.equal(ids.length, 0, 'nothing follows EOS');
      continue;
    }
    assert.ok(ids.length === 4 || (ids.length === 5 && ids[4] === 2), `token ${t}: ${ids}`);
    assert.ok(!ids.includes(t) && !ids.includes(0) && !ids.includes(1));
    for (let j = 1; j < logits.length; j++) assert.ok(logits[j]! < logits[j - 1]!, 'most likely first');
    if (ids.includes(2)) eos++;
    words += ids.filter((id) => id >= 259).length;
    total += ids.length;
  }
  assert.ok(eos > 0.03 * 32000 && eos < 0.07 * 32000, `EOS follows ${eos} tokens`);
  assert.ok(words / total > 0.4 && words / total < 0.55, `pseudo-word share ${words / total}`);
  // Byte-level vocabulary: after a letter come letters, spaces and punctuation.
  for (let b = 0x61; b <= 0x7a; b++) {
    for (const id of successors({ vocabSize: 259, seed: 9 }, b + 3).ids) {
      const ch = id - 3;
      assert.ok(id === 2 || ch === 0x0a || (ch >= 0x20 && ch < 0x7f), `byte ${ch} after ${String.fromCharCode(b)}`);
    }
  }
});

test('tied chain: an undirected graph, each edge with one logit, equal degrees', () => {
  const p = { vocabSize: 5000, seed: 4 };
  let degree4 = 0;
  for (let t = 3; t < 5000; t++) {
    const n = neighbors(p, t);
    if (n.ids.length === 4) degree4++;
    n.ids.forEach((s, j) => {
      const back = neighbors(p, s);
      const k = back.ids.indexOf(t);
      assert.ok(k >= 0, `${s} is a neighbour of ${t} but not the reverse`);
      assert.equal(back.logits[k], n.logits[j]);
    });
  }
  assert.ok(degree4 > 0.99 * 4997, `${degree4} tokens of degree 4`);
  assert.deepEqual(neighbors(p, 1).ids, [], 'specials have no neighbours');
});

test('without perturbation the logits are the chain: successors on top, in order, gaps to scale', () => {
  const spec: PresetSpec = { ...PRESETS.tiny, perturbation: 0 };
  const ref = new CpuReference(buildSynthetic(spec, 'flat'));
  let top1 = 0;
  let tested = 0;
  for (let t = 3; t < 259; t++) {
    const { ids, logits } = successors({ vocabSize: 259, seed: spec.seed }, t);
    ref.truncate(0);
    const [row] = ref.forward([t], 0);
    tested++;
    if (argmax(row!) === ids[0]) top1++;
    // Logits of successors differ by the chain's gaps times one scale per token (the Gram solve makes it exact).
    const scale = (row![ids[0]!]! - row![ids[1]!]!) / (logits[0]! - logits[1]!);
    for (let j = 2; j < ids.length; j++) {
      const got = (row![ids[0]!]! - row![ids[j]!]!) / (logits[0]! - logits[j]!);
      assert.ok(Math.abs(got / scale - 1) < 1e-6, `token ${t} successor ${j}: scale ${got} vs ${scale}`);
    }
    assert.ok(scale > 0.7 && scale < 1.4, `token ${t}: logit scale ${scale}`);
  }
  assert.equal(top1, tested, 'every token predicts its first successor');
});

test('tied variant: neighbours win the logits', () => {
  const spec: PresetSpec = {
    ...PRESETS.tiny,
    config: { ...PRESETS.tiny.config, tiedClassifier: true },
    perturbation: 0,
  };
  const ref = new CpuReference(buildSynthetic(spec, 'tied'));
  let inTop = 0;
  for (let t = 3; t < 259; t++) {
    ref.truncate(0);
    const [row] = ref.forward([t], 0);
    if (neighbors({ vocabSize: 259, seed: spec.seed }, t).ids.includes(argmax(row!))) inTop++;
  }
  assert.ok(inTop >= 0.95 * 256, `${inTop} of 256 tokens predict a neighbour`);
});

test('tiny-draft agrees with tiny at the rate documented in PRESETS', () => {
  const tf = agreement(loadPreset('tiny'), loadPreset('tiny-draft'));
  const prompts = ['Once upon a time', 'The', 'hello world. ', 'A quick brown fox'];
  const greedy = prompts.map((p) => greedyAgreement(loadPreset('tiny'), loadPreset('tiny-draft'), p, 50));
  const meanGreedy = greedy.reduce((a, b) => a + b) / greedy.length;
  console.log(`tiny vs tiny-draft: teacher-forced ${tf.toFixed(3)}, greedy ${greedy.map((g) => g.toFixed(2))}`);
  assert.ok(tf >= TF_LOW && tf <= TF_HIGH, `teacher-forced agreement ${tf}`);
  assert.ok(meanGreedy >= GREEDY_LOW && meanGreedy <= GREEDY_HIGH, `greedy agreement ${meanGreedy}`);
});

test('the perturbation parameter controls agreement', () => {
  const rate = (perturbation: number) =>
    agreement(
      buildSynthetic({ ...PRESETS.tiny, perturbation }, 't'),
      buildSynthetic({ ...PRESETS['tiny-draft'], perturbation }, 'd'),
    );
  const [low, mid, high] = [0.5, PRESETS.tiny.perturbation, 4].map(rate);
  console.log(`agreement at perturbation 0.5 / default / 4: ${low} / ${mid} / ${high}`);
  assert.ok(low! > mid! && mid! > high!, `${low} > ${mid} > ${high}`);
  assert.ok(low! >= 0.9 && high! <= 0.6);
});

test('embedding rows are built fast enough for a 7B-shape model', () => {
  // Same dims as llama-7b, a 1000-token vocabulary: the time per row is what a 32000-row read() repeats.
  const c = { ...PRESETS['llama-7b'].config, vocabSize: 1000 };
  const t0 = process.cpuUsage();
  buildSynthetic({ ...PRESETS['llama-7b'], config: c }, 'rows')
    .tensor(tensorNames.embedding)
    .read();
  const { user, system } = process.cpuUsage(t0);
  const fullSeconds = ((user + system) / 1e6) * (32000 / 1000);
  console.log(`llama-7b embedding: about ${fullSeconds.toFixed(1)} s of CPU for all 32000 rows`);
  assert.ok(fullSeconds < 20, `${fullSeconds} s`);
});
