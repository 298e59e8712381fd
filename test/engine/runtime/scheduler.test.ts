// Scheduler policies without a GPU: what each step is made of.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockManager } from '../../../engine/runtime/block-manager.ts';
import { Scheduler } from '../../../engine/runtime/scheduler.ts';
import { Sequence } from '../../../engine/runtime/sequence.ts';
import { GREEDY } from '../../../engine/sampling/types.ts';

const limits = { maxBatch: 4, maxNumTokens: 64, prefillChunk: 0, lookahead: 0, maxContext: 100 };
const seq = (id: number, prompt: number) =>
  new Sequence(id, { promptIds: Array.from({ length: prompt }, (_, i) => i + 1), maxTokens: 8, sampling: GREEDY });

/** Runs one step as the engine would: every chunk computed, a token appended where it samples. */
function step(s: Scheduler) {
  const chunks = s.schedule();
  for (const c of chunks) {
    c.seq.computed += c.count;
    if (c.sample) c.seq.tokens.push(7);
  }
  return chunks;
}

test('static batches keep their shape: a finished row is computed as padding at advancing positions', () => {
  const s = new Scheduler('static', new BlockManager(64, 4), limits);
  const [a, b, c] = [seq(0, 3), seq(1, 5), seq(2, 2)];
  for (const x of [a, b, c]) s.add(x);
  assert.equal(step(s).length, 3); // prefills
  assert.deepEqual(s.padding, []);
  s.finish(a); // a has 4 tokens: its next decode would have been position 3
  const late = seq(3, 2);
  s.add(late);
  const chunks = step(s);
  assert.deepEqual(
    chunks.map((ch) => ch.seq.id),
    [1, 2],
    'no admission until the batch ends',
  );
  assert.deepEqual(s.padding, [3]);
  step(s);
  assert.deepEqual(s.padding, [4]);
  s.finish(c);
  step(s);
  assert.deepEqual(s.padding, [5, c.tokens.length - 1]);
  s.finish(b); // the batch is over: no padding, the waiting sequence starts
  const next = step(s);
  assert.deepEqual(
    next.map((ch) => ch.seq.id),
    [3],
  );
  assert.deepEqual(s.padding, []);
});

test('continuous batching never pads: a finished sequence frees its row for a newcomer', () => {
  const s = new Scheduler('continuous', new BlockManager(64, 4), limits);
  const [a, b] = [seq(0, 3), seq(1, 5)];
  s.add(a);
  s.add(b);
  step(s);
  s.finish(a);
  s.add(seq(2, 2));
  const chunks = step(s);
  assert.deepEqual(chunks.map((ch) => ch.seq.id).sort(), [1, 2]);
  assert.deepEqual(s.padding, []);
});
