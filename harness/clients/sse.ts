// One streaming HTTP request over undici with SSE parsing (eventsource-parser), timestamping each network read.
// Events parsed from the same read share its arrival time: that is when the client could first have seen them.
import { createParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import type { ErrorKind, RequestError, StreamOutcome } from './types.ts';

/** Thrown by a dialect's event handler when the stream violates its format. */
export class MalformedStream extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind = 'malformed',
  ) {
    super(message);
  }
}

export interface SseDialect {
  /** Handles one `data:` payload that arrived at `t`; returns true when it ends the stream. */
  onData(data: string, t: number, out: StreamOutcome): boolean;
  /** Called once after a complete stream (e.g. to apportion reported tokens over chunks). */
  finish?(out: StreamOutcome): void;
}

export interface HttpCall {
  path: string;
  body: string;
  headers: Record<string, string>;
}

const TIMEOUT = Symbol('timeout');
const CANCELLED = Symbol('cancelled');
const MAX_ERROR_BODY = 2000;

export async function streamSse(
  pool: Dispatcher,
  call: HttpCall,
  dialect: SseDialect,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<StreamOutcome> {
  const out: StreamOutcome = { sentAt: 0, endAt: 0, chunkTimes: [], chunkTokens: [], tokensExact: true };
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(TIMEOUT), timeoutMs);
  const onAbort = () => ac.abort(CANCELLED);
  signal?.addEventListener('abort', onAbort, { once: true });
  let done = false;
  let now = 0;
  const parser = createParser({
    onEvent: (ev) => {
      if (!done) done = dialect.onData(ev.data, now, out);
    },
  });
  try {
    if (signal?.aborted) throw CANCELLED;
    out.sentAt = performance.now();
    const res = await pool.request({
      path: call.path,
      method: 'POST',
      headers: call.headers,
      body: call.body,
      signal: ac.signal,
    });
    if (res.statusCode >= 400) {
      out.error = await httpError(res.statusCode, res.body);
      return out;
    }
    const decoder = new TextDecoder();
    for await (const buf of res.body) {
      now = performance.now();
      // Read to the end even after [DONE]: leaving early would destroy the socket instead of reusing it.
      if (!done) parser.feed(decoder.decode(buf as Uint8Array, { stream: true }));
    }
    if (!done) out.error = { kind: 'truncated', message: 'stream ended before its final event ([DONE])' };
    else dialect.finish?.(out);
  } catch (e) {
    out.error = classify(e, ac.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    out.endAt = performance.now();
  }
  return out;
}

async function httpError(
  status: number,
  body: AsyncIterable<unknown> & { text(): Promise<string> },
): Promise<RequestError> {
  let text = '';
  try {
    text = (await body.text()).slice(0, MAX_ERROR_BODY);
  } catch (e) {
    text = `(body unreadable: ${(e as Error).message})`;
  }
  let message = text;
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    message = (typeof j.error === 'string' ? j.error : j.error?.message) ?? j.message ?? text;
  } catch {
    // Not JSON: keep the raw text as the message.
  }
  return { kind: status < 500 ? 'http4xx' : 'http5xx', status, message: `HTTP ${status}: ${message}`.slice(0, 300) };
}

export function classify(e: unknown, signal: AbortSignal): RequestError {
  if (e instanceof MalformedStream) return { kind: e.kind, message: e.message };
  if (signal.reason === TIMEOUT) return { kind: 'timeout', message: 'request timed out' };
  if (signal.reason === CANCELLED || e === CANCELLED) return { kind: 'cancelled', message: 'cancelled' };
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { kind: 'timeout', message: err.message ?? code };
  }
  return { kind: 'connection', message: `${code ? `${code}: ` : ''}${err.message ?? String(e)}`.slice(0, 300) };
}
