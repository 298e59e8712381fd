// One engine request as the server runs it: admission against --max-queue, an AbortSignal that fires when the
// client disconnects or the server shuts down (the engine then frees the sequence and its KV blocks), and an
// event loop that knows which event is the last one (TGI puts the final token and the summary in one event).
import type { ServerResponse } from 'node:http';
import type { Engine, GenerationEvent, GenerationRequest, GenerationResult } from '../runtime/types.ts';
import { ApiError } from './http-error.ts';

export type CancelReason = 'client' | 'shutdown' | 'engine';

export class CancelledError extends Error {
  constructor(readonly reason: CancelReason) {
    super(`generation cancelled (${reason})`);
    this.name = 'CancelledError';
  }
}

/** The HTTP error a cancellation turns into when someone is still listening (shutdown, or the engine gave up). */
export function cancelledApiError(err: CancelledError): ApiError {
  const why = err.reason === 'shutdown' ? 'the server is shutting down' : 'the engine cancelled it';
  return new ApiError(503, `generation was cancelled because ${why}; retry`, { code: 'cancelled' });
}

export interface ServerCounters {
  httpRequests: Map<string, number>; // key: `${route} ${status}`
  promptTokens: number;
  generatedTokens: number;
  rejected: Map<string, number>; // key: reason (queue_full, shutting_down)
  cancelled: Map<CancelReason, number>;
  engineErrors: number;
  completed: number; // generations that ran to a stop or length finish
  spec: { proposed: number; accepted: number }; // summed from finished requests' stats
}

/** What the routes share: the engine, admission bookkeeping, and the controllers shutdown must be able to abort. */
export interface ServerState {
  engine: Engine;
  modelId: string;
  maxQueue: number;
  stallMs: number;
  inFlight: number; // requests admitted and not yet finished: waiting + running, as the server sees them
  closing: boolean;
  readonly active: Set<Slot>;
  readonly counters: ServerCounters;
  readonly log: (msg: string) => void;
}

export function newCounters(): ServerCounters {
  return {
    httpRequests: new Map(),
    promptTokens: 0,
    generatedTokens: 0,
    rejected: new Map(),
    cancelled: new Map(),
    engineErrors: 0,
    completed: 0,
    spec: { proposed: 0, accepted: 0 },
  };
}

const bump = <K>(m: Map<K, number>, k: K, by = 1): void => {
  m.set(k, (m.get(k) ?? 0) + by);
};

/** An admitted request. Created only through admit(); release() is called exactly once, by drive(). */
export class Slot {
  private readonly controller = new AbortController();
  private reason: CancelReason | undefined;
  private released = false;
  private readonly onClose = (): void => {
    if (!this.res.writableFinished) this.cancel('client');
  };

  constructor(
    private readonly state: ServerState,
    private readonly res: ServerResponse,
  ) {
    state.inFlight++;
    state.active.add(this);
    res.once('close', this.onClose);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cancelReason(): CancelReason | undefined {
    return this.reason;
  }

  cancel(reason: CancelReason): void {
    if (this.controller.signal.aborted) return;
    this.reason = reason;
    this.controller.abort(new CancelledError(reason));
  }

  /** Stops the engine's work after a server-side failure, without counting it as a cancellation. */
  abortQuietly(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new CancelledError('engine'));
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.state.inFlight--;
    this.state.active.delete(this);
    this.res.off('close', this.onClose);
    if (this.reason) bump(this.state.counters.cancelled, this.reason);
  }
}

/** Admits a request or refuses it: 503 while shutting down, 429 when waiting + running reached --max-queue. */
export function admit(state: ServerState, res: ServerResponse): Slot {
  if (state.closing) {
    bump(state.counters.rejected, 'shutting_down');
    throw new ApiError(503, 'server is shutting down; retry against another instance', { code: 'shutting_down' });
  }
  if (state.inFlight >= state.maxQueue) {
    bump(state.counters.rejected, 'queue_full');
    throw new ApiError(429, `server queue is full (${state.maxQueue} requests waiting or running); retry later`, {
      code: 'queue_full',
      headers: { 'retry-after': '1' },
    });
  }
  return new Slot(state, res);
}

/** Resolves to the settled result when `p` settles before the next macrotask, else undefined (without waiting). */
function settledNow<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false } | undefined> {
  return new Promise((resolve) => {
    const t = setImmediate(() => resolve(undefined));
    p.then(
      (value) => {
        clearImmediate(t);
        resolve({ ok: true, value });
      },
      () => {
        clearImmediate(t);
        resolve({ ok: false });
      },
    );
  });
}

/**
 * Runs `req` on the engine, calling `onEvent` for every event, with the result when the generator finished
 * right after that event (engines return as soon as the final token is yielded, so the check costs one macrotask,
 * never a decode step; an engine that returns later just gets `undefined` for its last event). Returns the result, or throws CancelledError when the request was aborted. Always releases the slot.
 */
export async function drive(
  state: ServerState,
  slot: Slot,
  req: GenerationRequest,
  onEvent: (ev: GenerationEvent, final: GenerationResult | undefined) => Promise<void>,
): Promise<GenerationResult> {
  state.counters.promptTokens += req.promptIds.length;
  let it: AsyncGenerator<GenerationEvent, GenerationResult> | undefined;
  let done = false;
  try {
    it = state.engine.generate(req, slot.signal);
    let pending = it.next();
    for (;;) {
      const r = await pending;
      if (r.done) {
        done = true;
        if (r.value.finishReason === 'cancelled' || slot.signal.aborted)
          throw new CancelledError(slot.cancelReason ?? 'engine');
        state.counters.completed++;
        const spec = r.value.stats.spec;
        if (spec) {
          state.counters.spec.proposed += spec.proposed;
          state.counters.spec.accepted += spec.accepted;
        }
        return r.value;
      }
      if (slot.signal.aborted) throw new CancelledError(slot.cancelReason ?? 'engine');
      state.counters.generatedTokens += r.value.tokenIds.length;
      pending = it.next();
      const peek = await settledNow(pending);
      const final =
        peek?.ok && peek.value.done && peek.value.value.finishReason !== 'cancelled' ? peek.value.value : undefined;
      await onEvent(r.value, final);
    }
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    // Engines may also reject with the signal's reason (or an AbortError) instead of returning 'cancelled'.
    if (slot.signal.aborted) throw new CancelledError(slot.cancelReason ?? 'engine');
    state.counters.engineErrors++;
    throw err;
  } finally {
    if (!done && it) {
      slot.abortQuietly();
      // return() runs the engine generator's finally blocks (freeing its sequence) once its pending step settles.
      await it
        .return(undefined as never)
        .catch((err: unknown) => state.log(`engine generator failed while closing: ${String(err)}`));
    }
    slot.release();
  }
}
