// Server-sent events over a node:http response, with backpressure: a client that stops reading stalls its own
// generation (and, past a bound, is dropped) instead of making the server buffer its tokens without limit.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

export class SseStream {
  private gone = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly stallMs: number,
  ) {
    res.once('close', () => {
      this.gone = true;
    });
  }

  open(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // proxies (nginx) must not hold chunks back: clients time each one
    });
    this.res.flushHeaders();
  }

  get closed(): boolean {
    return this.gone || this.res.destroyed;
  }

  /** Writes one `data:` event; false when the client is gone or stopped reading for longer than the stall bound. */
  async send(data: unknown): Promise<boolean> {
    if (this.closed) return false;
    const payload = typeof data === 'string' ? data : JSON.stringify(data);
    if (this.res.write(`data: ${payload}\n\n`)) return true;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.stallMs);
    try {
      await Promise.race([
        once(this.res, 'drain', { signal: ac.signal }),
        once(this.res, 'close', { signal: ac.signal }),
      ]);
    } catch {
      // The stall bound fired (once() rejects with AbortError): the reader is treated as gone below.
      this.res.destroy();
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
    return !this.closed;
  }

  end(): void {
    if (!this.closed) this.res.end();
  }
}
