// When to ask for a step's results. dawn.node learns that GPU work has finished by polling: from the moment a
// mapAsync (or onSubmittedWorkDone) is pending until it resolves, it calls ProcessEvents from a setImmediate loop
// that allocates on every turn. Requesting the readback right after submitting made that loop run for the whole of
// every step: a few hundred KB of garbage a step, and on an H100 a 10-20 ms mark-compact every ~80 llama-7b steps,
// each leaving the GPU idle 20-45 ms (the two steps then in flight cover ~7 ms), ~0.45 ms a step on average. So
// the runner sleeps on a timer, with nothing pending, through most of a step's expected GPU time and only then maps.
// Only on GPUs and for steps of 2.5 ms or more: a timer wakes up to a millisecond or so late, which a short step
// would feel (and on a CPU adapter the "GPU" is the CPU: there pacing measured slower, 347 -> 250 tok/s on
// preset:tiny).
// The polling that is left still makes ~170 KB of garbage a llama-7b int4 step on an H100: engine processes start
// with a large initial old space so that it does not force a major GC every second (engine/runtime/node-flags.ts).
//
// Expected GPU time is learned per step shape from earlier steps: a step whose map was pending a while when it
// resolved (the request came early) finished at that moment, so from when the GPU could start it (its submission or
// the step before it finishing, whichever is later) to then is its time. A map that resolves at once came late: the
// estimate shrinks. Steps complete in submission order, so each waits for the one before it first.
const MIN_PACED_MS = 2.5; // steps expected to take less are polled for from the start, as before
const MIN_POLL_MS = 1.5; // at least this much (and a quarter) of the expected time is polled, for timer lateness
const EARLY_MS = 0.2; // a map pending at least this long resolved when the GPU finished
const LATE_SHRINK = 0.9;
const EMA = 0.2;
// A step's GPU time barely varies (llama-7b int4 on an H100: p50 2.63, max 2.69 ms by timestamps), but the CPU that
// times it stalls now and then (GC, the OS): a 39 ms stall counted in full raised the estimate 4x, and the reads
// asked for late while it decayed left the GPU idle 5-9 ms a step for ten steps. So one step moves it up by a
// quarter at most.
const MAX_GROWTH = 1.25;

export class ReadbackPacer {
  private readonly gpuMs = new Map<string, number>();
  private lastDone = 0; // when the previous step's results arrived
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly enabled: boolean) {}

  /**
   * Resolves with `read()`'s result once the step submitted at `submitted` (performance.now()) is done, calling
   * `read` (which maps the step's results) when the step is nearly due.
   */
  paced<T>(shape: string, submitted: number, read: () => Promise<T>): Promise<T> {
    const result = this.chain.then(async () => {
      const start = Math.max(submitted, this.lastDone);
      const expected = this.gpuMs.get(shape);
      if (this.enabled && expected !== undefined && expected >= MIN_PACED_MS) {
        const sleep = start + expected - Math.max(MIN_POLL_MS, expected / 4) - performance.now();
        if (sleep >= 1) await new Promise((r) => setTimeout(r, sleep));
      }
      const asked = performance.now();
      try {
        return await read();
      } finally {
        const done = performance.now();
        if (done - asked >= EARLY_MS) {
          const ms = expected === undefined ? done - start : Math.min(done - start, expected * MAX_GROWTH);
          this.gpuMs.set(shape, expected === undefined ? ms : (1 - EMA) * expected + EMA * ms);
        } else if (expected !== undefined) {
          this.gpuMs.set(shape, expected * LATE_SHRINK);
        }
        this.lastDone = done;
      }
    });
    this.chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
