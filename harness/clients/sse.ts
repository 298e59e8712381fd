// A streaming request with SSE parsing (eventsource-parser), timestamping each network read. Events parsed from
// the same read share its arrival time: that is when the client could first have seen them.
import { createParser } from 'eventsource-parser';
import type { RequestSpec } from '../workload/prompts.ts';
import { Connections } from './connections.ts';
import { dispatchRequest, type HttpCall } from './dispatch.ts';
import { RequestTracker } from './tracker.ts';
import type { ClientOptions, StreamClient, StreamOutcome } from './types.ts';

export { type HttpCall, MalformedStream } from './dispatch.ts';

export interface SseDialect {
  /** Handles one `data:` payload that arrived at `t`; returns true when it ends the stream. May throw MalformedStream. */
  onData(data: string, t: number, out: StreamOutcome): boolean;
  /** Called once after a complete stream (e.g. to apportion reported tokens over chunks). */
  finish?(out: StreamOutcome): void;
}

export async function streamSse(
  conns: Connections,
  call: HttpCall,
  dialect: SseDialect,
  tracker: RequestTracker,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<StreamOutcome> {
  const out: StreamOutcome = { sentAt: 0, endAt: 0, chunkTimes: [], chunkTokens: [], tokensExact: true };
  let done = false;
  let now = 0;
  const parser = createParser({
    onEvent: (ev) => {
      if (!done) done = dialect.onData(ev.data, now, out);
    },
  });
  const decoder = new TextDecoder();
  const r = await dispatchRequest(
    conns,
    call,
    {
      onData(chunk, t) {
        now = t;
        // After [DONE] the rest is read and dropped, so the connection goes back to the pool.
        if (!done) parser.feed(decoder.decode(chunk, { stream: true }));
      },
    },
    tracker,
    timeoutMs,
    signal,
  );
  out.sentAt = r.sentAt;
  out.endAt = r.endAt;
  if (r.error) out.error = r.error;
  else if (!done) out.error = { kind: 'truncated', message: 'stream ended before its final event ([DONE])' };
  else dialect.finish?.(out);
  return out;
}

/**
 * A streaming client of one SSE endpoint (`route` under the base URL): its connection pool and request tracker,
 * each request's JSON body, and the dialect that reads its events.
 */
export function sseClient(
  opts: ClientOptions,
  route: string,
  body: (req: RequestSpec) => unknown,
  dialect: () => SseDialect,
): StreamClient {
  const tracker = new RequestTracker();
  const conns = new Connections(new URL(opts.baseUrl).origin, opts.connections);
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...opts.headers };
  const path = `${new URL(opts.baseUrl).pathname.replace(/\/$/, '')}${route}`;
  return {
    send: (req, signal) =>
      streamSse(conns, { path, headers, body: JSON.stringify(body(req)) }, dialect(), tracker, opts.timeoutMs, signal),
    close: async () => {
      tracker.close();
      await conns.close();
    },
  };
}
