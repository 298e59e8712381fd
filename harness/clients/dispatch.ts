// One HTTP request through undici's lowest-level API (Dispatcher.dispatch with a handler): no stream objects and no
// promise per chunk, so the client stays far from being the bottleneck (pool.request costs ~30% of the request
// rate; see bench/harness-overhead.ts). Body bytes go to a sink as they arrive, with their arrival time.
import type { Client, Dispatcher } from 'undici';
import type { Connections } from './connections.ts';
import type { RequestTracker, Tracked } from './tracker.ts';
import type { ErrorKind, RequestError } from './types.ts';

/** Thrown by a sink when the body violates its format; ends the request with that error kind. */
export class MalformedStream extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind = 'malformed',
  ) {
    super(message);
  }
}

export interface HttpCall {
  path: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers: Record<string, string>;
}

export interface BodySink {
  /** A chunk of a 2xx/3xx response body, read at `t` (performance.now()). May throw MalformedStream. */
  onData(chunk: Buffer, t: number): void;
}

export interface DispatchResult {
  sentAt: number;
  endAt: number;
  status: number; // 0 when no response arrived
  error?: RequestError;
}

const MAX_ERROR_BODY = 2000;

export function dispatchRequest(
  conns: Connections,
  call: HttpCall,
  sink: BodySink | undefined,
  tracker: RequestTracker,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<DispatchResult> {
  return new Promise((resolve) => {
    const h = new Handler(resolve, sink, tracker, conns, timeoutMs, signal);
    if (signal?.aborted) return h.stop({ kind: 'cancelled', message: 'cancelled' });
    tracker.add(h);
    const opts = { path: call.path, method: call.method ?? 'POST', headers: call.headers, body: call.body ?? null };
    conns.acquire((client) => {
      // Timed out or cancelled while waiting for a connection: never send it.
      if (h.settled) return conns.release(client);
      h.client = client;
      client.dispatch(opts, h);
    });
  });
}

/**
 * The request's whole state in one object (methods on the prototype, no closures): it is the undici handler,
 * the tracker's entry and the result, which keeps allocation per request to a minimum.
 */
class Handler implements Dispatcher.DispatchHandler, Tracked {
  readonly result: DispatchResult = { sentAt: performance.now(), endAt: 0, status: 0 };
  readonly deadline: number;
  client: Client | undefined; // the connection it holds, released when it settles
  settled = false;
  private controller: Dispatcher.DispatchController | undefined;
  private errorBody = '';

  constructor(
    private readonly resolve: (r: DispatchResult) => void,
    private readonly sink: BodySink | undefined,
    private readonly tracker: RequestTracker,
    private readonly conns: Connections,
    timeoutMs: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.deadline = this.result.sentAt + timeoutMs;
  }

  private finish(error?: RequestError): void {
    if (this.settled) return;
    this.settled = true;
    this.tracker.delete(this);
    // An aborted request's connection is reusable: undici reconnects, queueing the next request behind the abort.
    if (this.client) this.conns.release(this.client);
    this.result.endAt = performance.now();
    if (error) this.result.error = error;
    this.resolve(this.result);
  }

  stop(error: RequestError): void {
    this.finish(error);
    this.controller?.abort(new Error(error.message));
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.settled) c.abort(new Error('request no longer wanted'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.result.status = statusCode;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.result.status >= 400) {
      if (this.errorBody.length < MAX_ERROR_BODY) this.errorBody += chunk.toString('utf8');
      return;
    }
    try {
      this.sink?.onData(chunk, performance.now());
    } catch (e) {
      if (!(e instanceof MalformedStream)) throw e;
      this.stop({ kind: e.kind, message: e.message });
    }
  }

  onResponseEnd(): void {
    this.finish(this.result.status >= 400 ? httpError(this.result.status, this.errorBody) : undefined);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.finish(connectionError(err));
  }
}

export function httpError(status: number, text: string): RequestError {
  let message = text.slice(0, MAX_ERROR_BODY);
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    message = (typeof j.error === 'string' ? j.error : j.error?.message) ?? j.message ?? message;
  } catch {
    // Not JSON: the raw text is the message.
  }
  return { kind: status < 500 ? 'http4xx' : 'http5xx', status, message: `HTTP ${status}: ${message}`.slice(0, 300) };
}

function connectionError(e: unknown): RequestError {
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { kind: 'timeout', message: err.message ?? code };
  }
  return { kind: 'connection', message: `${code ? `${code}: ` : ''}${err.message ?? String(e)}`.slice(0, 300) };
}
