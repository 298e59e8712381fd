// 2,000 requests cancelled mid-stream (OpenAI and TGI streams, and non-streaming requests abandoned while
// generating): afterwards no KV block is in use, nothing is admitted or running, every cancellation was counted,
// and the heap after a full GC has grown by less than the stated bound over a warmed-up baseline.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { EngineFactory } from './echo-engine.ts';
import { eventually, gauge, metric, start } from './helpers.ts';

export interface CancellationOptions {
  requests?: number; // default 2000
  warmup?: number; // default 200, not counted in the heap baseline
  concurrency?: number; // default 32
  maxTokens?: number; // long enough that every request is still generating when it is cancelled
  heapBoundBytes?: number; // default 16 MiB
}

export interface CancellationReport {
  cancelled: number;
  heapGrowthBytes: number;
  heapBoundBytes: number;
}

/** A full, synchronous GC (node runs tests without --expose-gc, so the flag is set at run time). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function settleHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 50));
    fullGc();
  }
  return process.memoryUsage().heapUsed;
}

export async function cancellationSuite(
  factory: EngineFactory,
  opts: CancellationOptions = {},
): Promise<CancellationReport> {
  const n = opts.requests ?? 2000;
  const warmup = opts.warmup ?? 200;
  const concurrency = opts.concurrency ?? 32;
  const maxTokens = opts.maxTokens ?? 200;
  const heapBoundBytes = opts.heapBoundBytes ?? 16 * 1024 * 1024;
  const srv = await start(factory, { maxQueue: concurrency * 2 });
  try {
    const one = async (i: number): Promise<void> => {
      const kind = i % 4;
      const [path, body] =
        kind === 0
          ? ['/v1/completions', { prompt: `story ${i}`, max_tokens: maxTokens, ignore_eos: true, stream: true }]
          : kind === 1
            ? [
                '/v1/chat/completions',
                {
                  messages: [{ role: 'user', content: `story ${i}` }],
                  max_tokens: maxTokens,
                  ignore_eos: true,
                  stream: true,
                },
              ]
            : kind === 2
              ? [
                  '/generate_stream',
                  { inputs: `story ${i}`, parameters: { max_new_tokens: maxTokens, ignore_eos: true } },
                ]
              : ['/v1/completions', { prompt: `story ${i}`, max_tokens: maxTokens, ignore_eos: true }];
      const ac = new AbortController();
      // Non-streaming: nothing arrives before the end, so the client gives up while generation runs.
      const timer = kind === 3 ? setTimeout(() => ac.abort(), 20) : undefined;
      try {
        const res = await fetch(`${srv.url}${path}`, { method: 'POST', body: JSON.stringify(body), signal: ac.signal });
        assert.equal(res.status, 200);
        assert.notEqual(kind, 3, 'a non-streaming request finished before its client gave up; raise maxTokens');
        const first = await res.body!.getReader().read();
        assert.ok(!first.done, 'the stream ended before it was cancelled; raise maxTokens');
        ac.abort();
      } catch (err) {
        if (!ac.signal.aborted) throw err; // an abort rejects fetch or the pending read: that is the point
      } finally {
        clearTimeout(timer);
      }
    };
    const run = async (from: number, count: number): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < from + count) await one(next++);
        }),
      );
    };
    const idle = async (): Promise<void> => {
      const ok = await eventually(async () => (await gauge(srv.url, 'bench_server_requests_in_flight')) === 0, 15_000);
      assert.ok(ok, 'requests still in flight long after their clients left');
    };

    await run(0, warmup);
    await idle();
    const before = await settleHeap();
    await run(warmup, n);
    await idle();
    const after = await settleHeap();

    assert.equal(await gauge(srv.url, 'bench_engine_kv_blocks_used'), 0, 'KV blocks leaked');
    assert.equal(await gauge(srv.url, 'bench_engine_requests_running'), 0);
    assert.equal(await gauge(srv.url, 'bench_engine_requests_waiting'), 0);
    const cancelled = (await metric(srv.url, 'bench_server_cancelled_total')).get('{reason="client"}') ?? 0;
    // A chat request can legitimately finish first: the plain chat template stops on "\nuser:", which a synthetic
    // model emits now and then. A server that failed to cancel would instead finish nearly all of them.
    const completed = await gauge(srv.url, 'bench_server_completed_total');
    assert.ok(completed <= 0.005 * (warmup + n), `${completed} abandoned requests ran to their end`);
    // A non-streaming client may give up before its request was even admitted: nothing to cancel then.
    assert.ok(
      cancelled >= 0.95 * (warmup + n),
      `only ${cancelled} of ${warmup + n} requests were cancelled in the engine`,
    );
    const growth = after - before;
    assert.ok(
      growth < heapBoundBytes,
      `heap grew by ${(growth / 2 ** 20).toFixed(1)} MiB over ${n} cancellations (bound ${heapBoundBytes / 2 ** 20} MiB)`,
    );
    return { cancelled, heapGrowthBytes: growth, heapBoundBytes };
  } finally {
    await srv.stop();
  }
}
