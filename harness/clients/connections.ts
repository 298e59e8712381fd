// A minimal connection pool: one undici Client (one keep-alive connection, no pipelining) per concurrent request,
// handed out from an idle stack. undici's own Pool does the same with more generality and costs ~15% of the
// request rate against a fast server (bench/harness-overhead.ts), which the load generator cannot spare.
import { Client } from 'undici';

export class Connections {
  private readonly idle: Client[] = [];
  private readonly all: Client[] = [];
  private readonly waiting: ((c: Client) => void)[] = [];

  /** `max`: most connections (null: as many as requests in flight, e.g. an open loop without a cap). */
  constructor(
    private readonly origin: string,
    private readonly max: number | null,
  ) {}

  /** Calls `use` with a free connection now, or as soon as one is released (FIFO). */
  acquire(use: (c: Client) => void): void {
    const c = this.idle.pop() ?? this.grow();
    if (c) use(c);
    else this.waiting.push(use);
  }

  release(c: Client): void {
    const next = this.waiting.shift();
    if (next) next(c);
    else this.idle.push(c);
  }

  async close(): Promise<void> {
    this.waiting.length = 0;
    await Promise.all(this.all.map((c) => c.close()));
  }

  private grow(): Client | undefined {
    if (this.max !== null && this.all.length >= this.max) return undefined;
    const c = new Client(this.origin, { pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 60_000 });
    this.all.push(c);
    return c;
  }
}
