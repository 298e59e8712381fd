// The readback pacer (engine/runtime/readback-pacer.ts) with real timers: a "GPU" that finishes a step a fixed
// time after it could start, and reads that resolve then. Margins are wide: this machine is shared.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadbackPacer } from '../../../engine/runtime/readback-pacer.ts';

const STEP_MS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A step submitted now, done STEP_MS after `start`: `read` resolves then (or at once when asked later). */
function gpuStep(start: number, log: { asked: number }[], value: number) {
  return async () => {
    log.push({ asked: performance.now() });
    await sleep(Math.max(0, start + STEP_MS - performance.now()));
    return value;
  };
}

test('a paced read is asked for near the end of a step of a shape it has seen, not at submission', async () => {
  for (const enabled of [true, false]) {
    const pacer = new ReadbackPacer(enabled);
    const log: { asked: number }[] = [];
    const t0 = performance.now();
    assert.equal(await pacer.paced('1:1', t0, gpuStep(t0, log, 1)), 1); // learns ~60 ms
    const t1 = performance.now();
    assert.equal(await pacer.paced('1:1', t1, gpuStep(t1, log, 2)), 2);
    const waited = log[1]!.asked - t1;
    if (enabled) assert.ok(waited >= 30, `asked ${waited.toFixed(1)} ms after submission, expected ~45`);
    else assert.ok(waited < 20, `unpaced: asked ${waited.toFixed(1)} ms after submission`);
    // A shape not seen before is asked for at once.
    const t2 = performance.now();
    await pacer.paced('8:8', t2, gpuStep(t2, log, 3));
    assert.ok(log[2]!.asked - t2 < 20);
  }
});

test('paced reads resolve in submission order, pass values and errors through, and an error does not stall the next', async () => {
  const pacer = new ReadbackPacer(true);
  const order: number[] = [];
  const t = performance.now();
  const a = pacer.paced('s', t, async () => {
    await sleep(30);
    order.push(1);
    return 'a';
  });
  const b = pacer.paced('s', t, async () => {
    order.push(2);
    throw new Error('device lost');
  });
  const c = pacer.paced('s', t, async () => {
    order.push(3);
    return 'c';
  });
  assert.equal(await a, 'a');
  await assert.rejects(b, /device lost/);
  assert.equal(await c, 'c');
  assert.deepEqual(order, [1, 2, 3], 'the second read waits for the first, though it was quicker');
});

test('a step the CPU noticed late (a stall) moves the estimate up by a quarter at most', async () => {
  const pacer = new ReadbackPacer(true);
  const log: { asked: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await pacer.paced('1:1', t, gpuStep(t, log, i)); // learns ~60 ms
  }
  // A read that takes 5 steps' time (a GC pause on the CPU, say): counted in full, the estimate would become
  // 0.8 * 60 + 0.2 * 300 = 108 ms and the next read be asked for ~81 ms in; capped, 63 ms and ~47 ms in.
  const stalled = performance.now();
  await pacer.paced('1:1', stalled, async () => {
    await sleep(5 * STEP_MS);
    return 0;
  });
  const t = performance.now();
  await pacer.paced('1:1', t, gpuStep(t, log, 4));
  const waited = log.at(-1)!.asked - t;
  assert.ok(waited >= 30 && waited < 70, `asked ${waited.toFixed(1)} ms after submission, expected ~47`);
});
