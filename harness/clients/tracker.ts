// Timeouts and cancellation for many in-flight requests without a timer and an abort listener per request: one
// sweep every SWEEP_MS finds expired requests, and one listener per AbortSignal stops everything it covers.
// (A setTimeout plus an addEventListener per request cost a third of the request rate against a fast server.)
import type { RequestError } from './types.ts';

const SWEEP_MS = 20; // timeouts fire at most this late
const IDLE_SWEEPS = 50; // stop sweeping after ~1 s without requests

export interface Tracked {
  deadline: number; // performance.now() time
  signal: AbortSignal | undefined;
  stop(error: RequestError): void;
}

export class RequestTracker {
  private readonly inFlight = new Set<Tracked>();
  private readonly hooked = new WeakSet<AbortSignal>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private idle = 0;

  add(t: Tracked): void {
    this.inFlight.add(t);
    if (t.signal && !this.hooked.has(t.signal)) this.hook(t.signal);
    this.idle = 0;
    this.timer ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  delete(t: Tracked): void {
    this.inFlight.delete(t);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private hook(signal: AbortSignal): void {
    this.hooked.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        for (const t of [...this.inFlight])
          if (t.signal === signal) t.stop({ kind: 'cancelled', message: 'cancelled' });
      },
      { once: true },
    );
  }

  private sweep(): void {
    if (this.inFlight.size === 0) {
      if (++this.idle >= IDLE_SWEEPS) this.close();
      return;
    }
    const now = performance.now();
    for (const t of [...this.inFlight]) {
      if (now >= t.deadline) t.stop({ kind: 'timeout', message: 'no complete response within the request timeout' });
    }
  }
}
