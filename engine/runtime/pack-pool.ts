// Packs noise-backed (synthetic) weight matrices on worker threads. A packed format (--precision f16/bf16, --quant
// int8/int4) quantizes on the host from f32, and for a synthetic model those f32 values are first generated from
// the seeded noise function: both are single-threaded JS, ~3 minutes for llama-7b on one core. A noise matrix is
// fully described by a few numbers (each part's seed, scale and rows, the fusion layout, the format's name), so a
// worker can build it from a small job and send back only the packed words and scales, and all cores share the work.
// The worker runs exactly the code the main thread would (fillNoise, then format.pack), so results are bit for bit
// those of the serial path (test/engine/runtime/pack-pool.test.ts). Real checkpoints keep the serial path: their
// values are already in this thread's memory.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BenchError, type ErrorCode } from '../errors.ts';
import { fillNoise } from '../model/noise.ts';
import type { TensorSource } from '../model/weights.ts';
import { rowSpans } from '../ops/fusion.ts';
import { getWeightFormat, type PackedWeight, type WeightFormat } from '../ops/weight-formats.ts';

/** One checkpoint matrix of a job: element i is Math.fround(scale * noiseValue(seed, i)), [rows, job.cols]. */
export interface NoisePart {
  seed: number;
  scale: number;
  rows: number;
}

/** A linear layer to generate and pack: its parts fused as fuseRows (engine/ops/fusion.ts) lays them out. */
export interface PackJob {
  format: string; // WeightFormat.name: 'f16', 'int8', 'int4-g32-asym'
  cols: number;
  parts: NoisePart[];
  interleave: boolean;
}

/** The job for a linear layer whose parts are all noise tensors; undefined when any part holds real data. */
export function noiseJob(
  format: WeightFormat,
  parts: readonly TensorSource[],
  interleave: boolean,
): PackJob | undefined {
  if (!parts.every((p) => p.noise)) return undefined;
  const cols = parts[0]!.shape[1]!;
  return {
    format: format.name,
    cols,
    parts: parts.map((p) => ({ seed: p.noise!.seed, scale: p.noise!.scale, rows: p.shape[0]! })),
    interleave,
  };
}

export const jobRows = (job: PackJob): number => job.parts.reduce((n, p) => n + p.rows, 0);

/**
 * The fused f32 matrix of a job, each part's rows generated straight into their place (rowSpans): the values
 * fuseRows(parts.map((p) => p.read()), cols, interleave) would give, without the parts' copies.
 */
export function noiseValues(job: PackJob): Float32Array {
  const { cols } = job;
  const out = new Float32Array(jobRows(job) * cols);
  for (const s of rowSpans(
    job.parts.map((p) => p.rows),
    job.interleave,
  )) {
    const p = job.parts[s.part]!;
    fillNoise(p.seed, p.scale, out.subarray(s.to * cols, (s.to + s.count) * cols), s.from * cols);
  }
  return out;
}

/** What a worker computes for a job (also the serial reference). */
export function packNoise(job: PackJob): PackedWeight {
  return formatNamed(job.format).pack(noiseValues(job), jobRows(job), job.cols);
}

/** The format a WeightFormat.name stands for: 'int4-g32-asym' is int4 with group size 32, asymmetric. */
export function formatNamed(name: string): WeightFormat {
  const int4 = /^int4-g(\d+)(-asym)?$/.exec(name);
  const format = int4
    ? getWeightFormat('int4', { groupSize: Number(int4[1]), symmetric: !int4[2] })
    : getWeightFormat(name);
  if (format.name !== name) throw new Error(`weight format name ${name} read back as ${format.name}`);
  return format;
}

/** Workers for a pool on this machine: every core but the one the main thread uploads from (at least 1). */
export const defaultPackWorkers = (): number => Math.max(1, availableParallelism() - 1);

/** A worker's answer: the packed matrix (its arrays transferred, not copied), or the error its job threw. */
export type PackReply = { packed: PackedWeight } | { error: { message: string; code?: ErrorCode } };

// Workers run pack-worker.ts, which is TypeScript: the entry registers tsx in the worker (execArgv's --import does
// not apply to a worker's entry on Node 20, and bin/bench.js registers tsx in its own thread only) and imports it.
const WORKER_URL = new URL('./pack-worker.ts', import.meta.url).href;
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); })`;

interface Task {
  job: PackJob;
  resolve: (p: PackedWeight) => void;
  reject: (e: unknown) => void;
}

/** A fixed set of workers, each packing one job at a time; jobs wait in arrival order for a free worker. */
export class PackPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Task>();
  private readonly waiting: Task[] = [];
  private failure: unknown;

  constructor(readonly size = defaultPackWorkers()) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  pack(job: PackJob): Promise<PackedWeight> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; jobs not finished yet are rejected. */
  async close(): Promise<void> {
    this.fail(new Error('pack pool closed'));
    await Promise.all([...this.idle, ...this.busy.keys()].map((w) => w.terminate()));
    this.idle.length = 0;
    this.busy.clear();
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const worker = this.idle.pop()!;
      const task = this.waiting.shift()!;
      this.busy.set(worker, task);
      worker.postMessage(task.job);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(BOOT, { eval: true });
    worker.on('message', (reply: PackReply) => {
      const task = this.busy.get(worker);
      if (!task) return;
      this.busy.delete(worker);
      this.idle.push(worker);
      if ('packed' in reply) task.resolve(reply.packed);
      else task.reject(new BenchError(reply.error.code ?? 'RUNTIME', reply.error.message));
      this.dispatch();
    });
    // A worker that dies (it could not start, ran out of memory) takes the pool with it: no job is left waiting.
    worker.on('error', (e) => this.fail(new BenchError('RUNTIME', `weight packing worker failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (this.failure === undefined) this.fail(new BenchError('RUNTIME', `weight packing worker exited (${code})`));
    });
    return worker;
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    for (const task of [...this.busy.values(), ...this.waiting.splice(0)]) task.reject(this.failure);
    this.busy.clear();
  }
}

/**
 * Packs `jobs` on a pool in order, keeping at most `window` results started and not yet taken, so a big model's
 * packed matrices never pile up in host memory: next() gives the jobs' results in job order.
 */
export class PackAhead {
  private readonly started: Promise<PackedWeight>[] = [];
  private taken = 0;

  constructor(
    private readonly pool: PackPool,
    private readonly jobs: readonly PackJob[],
    private readonly window = 2 * pool.size,
  ) {
    this.topUp();
  }

  next(): Promise<PackedWeight> {
    const result = this.started.shift();
    if (!result) throw new Error('PackAhead: no job left');
    this.topUp();
    return result;
  }

  private topUp(): void {
    while (this.started.length < this.window && this.taken < this.jobs.length) {
      const result = this.pool.pack(this.jobs[this.taken++]!);
      result.catch(() => {}); // rejected before next() awaits it (the pool failed): next() still rejects
      this.started.push(result);
    }
  }
}
