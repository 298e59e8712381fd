// Load generation: closed loop (N clients, each sending its next request when the previous one ends: the TGI
// table's "threads") and open loop (requests sent on a precomputed arrival schedule whether or not earlier ones
// finished). The generator only decides *when*; the job records what happened, against the scheduled time.
import { setMaxListeners } from 'node:events';
import { exponential, gamma, seededRng } from '../workload/rng.ts';

export interface LoadSpec {
  mode: 'closed' | 'open';
  concurrency?: number; // closed: clients; open: cap on requests in flight (queued beyond it, still timed from schedule)
  rate?: number; // open: mean requests per second
  arrival?: 'constant' | 'poisson' | 'gamma';
  burstiness?: number; // gamma shape
  seed?: number;
  total?: number; // requests to issue
  durationMs?: number; // stop issuing after this long
  startAt?: number; // performance.now() time the schedule starts from (default: now)
}

/** Runs request i, scheduled for `scheduledAt` (performance.now() time); `signal` aborts it. Must not throw. */
export type Job = (i: number, scheduledAt: number, signal: AbortSignal) => Promise<void>;

export interface LoadRun {
  t0: number; // performance.now() at start: request times are relative to it
  issued: number;
}

export interface LoadSignals {
  /** Stop issuing new requests (the target died, the duration is up elsewhere); in-flight ones finish. */
  stop?: AbortSignal;
  /** Abort in-flight requests too (Ctrl-C); passed to every job. */
  abort?: AbortSignal;
}

export async function generateLoad(spec: LoadSpec, job: Job, signals: LoadSignals = {}): Promise<LoadRun> {
  // One signal is shared by every in-flight request, each adding a listener: lift Node's leak warning limit.
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  if (signals.abort?.aborted) ac.abort();
  signals.abort?.addEventListener('abort', () => ac.abort(), { once: true });
  const abort = ac.signal;
  const signal = signals.stop ? AbortSignal.any([signals.stop, abort]) : abort;
  const run: Job = (i, at) => job(i, at, abort);
  if (spec.total === undefined && spec.durationMs === undefined) {
    throw new Error('generateLoad needs total or durationMs'); // the scenario schema guarantees one of them
  }
  const t0 = spec.startAt ?? performance.now();
  const deadline = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : t0 + spec.durationMs;
  const total = spec.total ?? Number.POSITIVE_INFINITY;
  const mode = MODES[spec.mode];
  if (!mode) throw new Error(`unknown load mode "${spec.mode}"; known: ${Object.keys(MODES).join(', ')}`);
  return { t0, issued: await mode(spec, run, signal, t0, deadline, total) };
}

type Mode = (
  spec: LoadSpec,
  job: Job,
  signal: AbortSignal,
  t0: number,
  deadline: number,
  total: number,
) => Promise<number>;

async function closed(spec: LoadSpec, job: Job, signal: AbortSignal, t0: number, deadline: number, total: number) {
  let next = 0;
  const client = async () => {
    let scheduled = t0;
    while (!signal.aborted && next < total && performance.now() < deadline) {
      const i = next++;
      await job(i, scheduled, signal);
      // The next request is due the moment this one ended; any delay before it is sent is the client's.
      scheduled = performance.now();
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency ?? 1 }, client));
  return next;
}

async function open(spec: LoadSpec, job: Job, signal: AbortSignal, t0: number, deadline: number, total: number) {
  const nextOffset = arrivals(spec.rate ?? 1, spec.arrival ?? 'poisson', spec.burstiness ?? 1, spec.seed ?? 1);
  const cap = spec.concurrency ?? Number.POSITIVE_INFINITY;
  const inFlight = new Set<Promise<void>>();
  const queued: [number, number][] = [];
  const launch = (i: number, at: number) => {
    const p: Promise<void> = job(i, at, signal).finally(() => {
      inFlight.delete(p);
      const q = queued.shift();
      if (q && !signal.aborted) launch(q[0], q[1]);
    });
    inFlight.add(p);
  };
  let i = 0;
  let due = t0 + nextOffset();
  while (!signal.aborted && i < total && due < deadline) {
    const wait = due - performance.now();
    // setTimeout is good to ~1 ms; the last millisecond is waited out in setImmediate steps, which keep
    // serving socket reads, so sends stay within a fraction of a millisecond of their schedule.
    if (wait >= 1.5) await sleep(wait - 1, signal);
    else if (wait > 0) await new Promise((r) => setImmediate(r));
    const now = performance.now();
    while (due <= now && i < total && due < deadline && !signal.aborted) {
      if (inFlight.size < cap) launch(i, due);
      else queued.push([i, due]);
      i++;
      due = t0 + nextOffset();
    }
  }
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  return i - queued.length;
}

/** Load modes keyed by name (the scenario schema admits only these; autocannon mode lives in autocannon.ts). */
const MODES: Record<LoadSpec['mode'], Mode> = { closed, open };

/** Offsets (ms from start) of successive arrivals; the first request goes at once. */
export function arrivals(rate: number, kind: 'constant' | 'poisson' | 'gamma', burstiness: number, seed: number) {
  const rng = seededRng(seed);
  const mean = 1000 / rate;
  let t = 0;
  let first = true;
  return (): number => {
    if (first) {
      first = false;
      return 0;
    }
    if (kind === 'constant') t += mean;
    else if (kind === 'poisson') t += exponential(rng, mean);
    else t += gamma(rng, burstiness, mean / burstiness);
    return t;
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
