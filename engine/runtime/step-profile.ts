// Timing one step of the model runner, for `bench profile`: per dispatch (where the GPU time goes) and as the
// ordinary single pass (how much of a step is CPU encoding, GPU work, and waiting).
import type { ModelRunner, StepInput } from './model-runner.ts';

const QUERY_RESOLVE_COPY_SRC = 0x0200 | 0x0004;
const MAP_READ_COPY_DST = 0x0001 | 0x0008;

/** Resolves n timestamps into a readable buffer at the end of `enc`; read() maps it after the submit. */
function timestampReader(device: GPUDevice, enc: GPUCommandEncoder, querySet: GPUQuerySet, n: number) {
  const resolved = device.createBuffer({ size: n * 8, usage: QUERY_RESOLVE_COPY_SRC });
  const staging = device.createBuffer({ size: n * 8, usage: MAP_READ_COPY_DST });
  enc.resolveQuerySet(querySet, 0, n, resolved, 0);
  enc.copyBufferToBuffer(resolved, 0, staging, 0, n * 8);
  return async (): Promise<BigUint64Array> => {
    await staging.mapAsync(0x0001);
    const ns = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    for (const b of [staging, resolved]) b.destroy();
    querySet.destroy();
    return ns;
  };
}

/**
 * Runs one step with every dispatch in its own compute pass and returns each dispatch's GPU time in ms, in order.
 * With timestamp queries the times are the GPU's own; without them each dispatch is submitted and waited for
 * alone, so each time includes one submit's overhead (`bench info` measures it).
 */
export async function profileStep(runner: ModelRunner, input: StepInput): Promise<{ name: string; ms: number }[]> {
  const d = runner.device;
  const list = runner.prepareDispatches(input);
  if (!runner.hasTimestamps) {
    const out: { name: string; ms: number }[] = [];
    for (const dsp of list) {
      const enc = d.createCommandEncoder();
      const pass = enc.beginComputePass();
      dsp.encode(pass);
      pass.end();
      const t0 = performance.now();
      d.queue.submit([enc.finish()]);
      await d.queue.onSubmittedWorkDone();
      out.push({ name: dsp.name, ms: performance.now() - t0 });
    }
    return out;
  }
  const querySet = d.createQuerySet({ type: 'timestamp', count: list.length * 2 });
  const enc = d.createCommandEncoder();
  list.forEach((dsp, i) => {
    const pass = enc.beginComputePass({
      timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
    dsp.encode(pass);
    pass.end();
  });
  const read = timestampReader(d, enc, querySet, list.length * 2);
  d.queue.submit([enc.finish()]);
  const ns = await read();
  return list.map((dsp, i) => ({ name: dsp.name, ms: Number(ns[2 * i + 1]! - ns[2 * i]!) / 1e6 }));
}

/**
 * One ordinary step (a single pass, no logits read back) timed three ways, to tell CPU cost from GPU cost:
 * encoding and submitting on the CPU, the pass on the GPU (timestamps at its ends; 0 without timestamp queries),
 * and the wall time until the GPU is done.
 */
export async function timeStep(
  runner: ModelRunner,
  input: StepInput,
  skip?: string,
): Promise<{ encodeMs: number; gpuMs: number; wallMs: number }> {
  const d = runner.device;
  const list = runner.prepareDispatches(input).filter((dsp) => dsp.name !== skip);
  await d.queue.onSubmittedWorkDone();
  const querySet = runner.hasTimestamps ? d.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
  const t0 = performance.now();
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass(
    querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
  );
  for (const dsp of list) dsp.encode(pass);
  pass.end();
  const read = querySet ? timestampReader(d, enc, querySet, 2) : undefined;
  d.queue.submit([enc.finish()]);
  const encodeMs = performance.now() - t0;
  await d.queue.onSubmittedWorkDone();
  const wallMs = performance.now() - t0;
  const ns = read ? await read() : undefined;
  return { encodeMs, gpuMs: ns ? Number(ns[1]! - ns[0]!) / 1e6 : 0, wallMs };
}

export interface DecodeProfile {
  batch: number;
  context: number; // the position every sequence decodes at
  stepMs: number; // a greedy step as the engine runs it: token ids read back (median of 5)
  logitsMs: number; // the same with every row's logits read back (sampled rows)
  noReadbackMs: number; // the same with nothing read back
  pass: { encodeMs: number; gpuMs: number; wallMs: number }; // timeStep, median of 5 each
  // per name, summed over layers, median of 5; inPassMs: how much shorter the ordinary pass is without that name's
  // dispatches (leave-one-out, median of 5; 0 without timestamp queries): own passes time each dispatch with a
  // pass's start and drain, the single pass overlaps neighbours, so the two differ most for short kernels
  kernels: { name: string; dispatches: number; ms: number; inPassMs: number }[];
}

const WARMUP_MS = 500;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * A decode step of `batch` sequences at position `context` (slots 0..batch-1, whose block tables the caller set):
 * warm-up steps for at least 0.5 s, then each figure the median of 5. KV contents are whatever the pool holds: timing does not
 * depend on them.
 */
export async function profileDecode(runner: ModelRunner, batch: number, context: number): Promise<DecodeProfile> {
  const vocab = runner.config.vocabSize;
  const input: StepInput = {
    tokens: Array.from({ length: batch }, (_, i) => 3 + (i % (vocab - 3))),
    positions: new Array(batch).fill(context),
    slots: Array.from({ length: batch }, (_, i) => i),
    outRows: Array.from({ length: batch }, (_, i) => i),
  };
  // GPUs lower their clocks when idle: step for a while first, or the first figures measure the clock ramp.
  const warm = performance.now();
  for (let i = 0; i < 3 || performance.now() - warm < WARMUP_MS; i++) await runner.run(input, { logitRows: [] });
  const five = async <T>(f: () => Promise<T>): Promise<T[]> => {
    const out: T[] = [];
    for (let i = 0; i < 5; i++) out.push(await f());
    return out;
  };
  const wall = async (x: StepInput, logitRows?: number[]) =>
    median(
      await five(async () => {
        const t0 = performance.now();
        await runner.run(x, logitRows ? { logitRows } : {});
        return performance.now() - t0;
      }),
    );
  const stepMs = await wall(input, []);
  const logitsMs = await wall(input);
  const noReadbackMs = await wall({ ...input, outRows: [] });
  const timed = await five(() => timeStep(runner, input));
  const pass = {
    encodeMs: median(timed.map((x) => x.encodeMs)),
    gpuMs: median(timed.map((x) => x.gpuMs)),
    wallMs: median(timed.map((x) => x.wallMs)),
  };
  const byName = new Map<string, { dispatches: number; ms: number[] }>();
  for (const profile of await five(() => profileStep(runner, input))) {
    const sums = new Map<string, { dispatches: number; ms: number }>();
    for (const { name, ms } of profile) {
      const e = sums.get(name) ?? { dispatches: 0, ms: 0 };
      sums.set(name, { dispatches: e.dispatches + 1, ms: e.ms + ms });
    }
    for (const [name, { dispatches, ms }] of sums) {
      const e = byName.get(name) ?? { dispatches, ms: [] };
      e.ms.push(ms);
      byName.set(name, e);
    }
  }
  const kernels = [];
  for (const [name, e] of byName) {
    // The results of a pass missing a kernel are wrong, which does not matter: only its duration is kept.
    const without = runner.hasTimestamps
      ? median((await five(() => timeStep(runner, input, name))).map((x) => x.gpuMs))
      : pass.gpuMs;
    kernels.push({ name, dispatches: e.dispatches, ms: median(e.ms), inPassMs: pass.gpuMs - without });
  }
  kernels.sort((a, b) => b.ms - a.ms);
  return { batch, context, stepMs, logitsMs, noReadbackMs, pass, kernels };
}
