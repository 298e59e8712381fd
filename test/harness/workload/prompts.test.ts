import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BenchError } from '../../../engine/errors.ts';
import { loadScenarioText } from '../../../harness/scenario/load.ts';
import { promptOfLength, requestSource } from '../../../harness/workload/prompts.ts';
import { seededRng } from '../../../harness/workload/rng.ts';
import { approximateTokenizer, byteLevelTokenizer, type PromptTokenizer } from '../../../harness/workload/tokenizer.ts';

const workload = (w: string) =>
  loadScenarioText(`name: w\ntarget: { url: http://h:1 }\nworkload: ${w}\nload: { requests: 1 }\n`, 'w.yaml').scenario
    .workload;

test('byte-level tokenizer: synthetic prompts have exactly the drawn token counts (BOS + one per byte)', () => {
  const src = requestSource(
    workload('{ promptTokens: { mean: 64, std: 20, min: 8, max: 128 }, outputTokens: 16 }'),
    byteLevelTokenizer(),
    '.',
  );
  const lengths = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const r = src(i);
    assert.equal(Buffer.byteLength(r.prompt) + 1, r.promptTokens, `request ${i}`);
    assert.ok(r.promptTokens >= 8 && r.promptTokens <= 128);
    assert.equal(r.outputTokens, 16);
    lengths.add(r.promptTokens);
  }
  assert.ok(lengths.size > 30, 'lengths follow the distribution, not one value');
});

test('requests are a pure function of (seed, index) and prompts are unique', () => {
  const w = workload('{ promptTokens: 40, seed: 7 }');
  const a = requestSource(w, byteLevelTokenizer(), '.');
  const b = requestSource(w, byteLevelTokenizer(), '.');
  assert.deepEqual(a(5), b(5));
  assert.notEqual(a(5).prompt, a(6).prompt);
  const other = requestSource(workload('{ promptTokens: 40, seed: 8 }'), byteLevelTokenizer(), '.');
  assert.notEqual(other(5).prompt, a(5).prompt);
});

test('a BPE-like tokenizer that merges across the cut is handled in token space', () => {
  // Counts "ab" as one token; cutting text inside "ab" changes counts non-additively.
  const tok: PromptTokenizer = {
    name: 'pairs',
    exact: true,
    count: (t) => 1 + t.replace(/ab/g, 'X').length,
    encode: (t) => [...t.replace(/ab/g, 'X')].map((c) => c.charCodeAt(0)),
    decode: (ids) => String.fromCharCode(...ids).replace(/X/g, 'ab'),
  };
  const rng = seededRng(1);
  for (const n of [5, 17, 64]) assert.equal(tok.count(promptOfLength(n, tok, rng)), n);
});

test('remote targets: approximate lengths, within a token of the target', () => {
  const tok = approximateTokenizer();
  const src = requestSource(workload('{ promptTokens: 100 }'), tok, '.');
  const p = src(0).prompt;
  assert.ok(Math.abs(p.length / 4 - 100) <= 1, `${p.length} chars`);
});

test('JSONL prompt files: prompts and per-line output lengths; errors name the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-prompts-'));
  writeFileSync(join(dir, 'p.jsonl'), '{"prompt": "hello there", "outputTokens": 5}\n\n{"text": "second"}\n');
  const src = requestSource(workload('{ prompts: { file: p.jsonl }, outputTokens: 9 }'), byteLevelTokenizer(), dir);
  assert.deepEqual([src(0).prompt, src(0).outputTokens, src(0).promptTokens], ['hello there', 5, 12]);
  assert.deepEqual([src(1).prompt, src(1).outputTokens], ['second', 9]);
  assert.equal(src(2).prompt, 'hello there', 'cycles through the file');
  writeFileSync(join(dir, 'bad.jsonl'), '{"prompt": "ok"}\n{"prompt": 3}\n');
  assert.throws(
    () => requestSource(workload('{ prompts: { file: bad.jsonl } }'), byteLevelTokenizer(), dir),
    (e: unknown) => e instanceof BenchError && /bad\.jsonl:2: expected a non-empty "prompt"/.test(e.message),
  );
  assert.throws(
    () => requestSource(workload('{ prompts: { file: missing.jsonl } }'), byteLevelTokenizer(), dir),
    (e: unknown) => e instanceof BenchError && e.code === 'FILE_NOT_FOUND',
  );
});
