// HTTP errors in OpenAI's shape ({error: {message, type, param, code}}), so every client library the harness
// targets (openai, undici, TGI's client) can read them the same way, whatever route failed.
import type { ServerResponse } from 'node:http';
import { BenchError } from '../errors.ts';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error';

export class ApiError extends BenchError {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly apiCode: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    opts: { param?: string | null; code?: string | null; type?: ApiErrorType; headers?: Record<string, string> } = {},
  ) {
    super(status >= 500 ? 'RUNTIME' : 'BAD_INPUT', message);
    this.name = 'ApiError';
    this.status = status;
    this.type = opts.type ?? defaultType(status);
    this.param = opts.param ?? null;
    this.apiCode = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  body(): { error: { message: string; type: ApiErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.apiCode } };
  }
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export const badRequest = (message: string, param: string | null = null, code = 'invalid_value'): ApiError =>
  new ApiError(400, message, { param, code });

/** Maps anything thrown while serving onto an ApiError: engine input errors are the client's fault, the rest ours. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof BenchError && (err.code === 'BAD_INPUT' || err.code === 'UNSUPPORTED')) {
    return new ApiError(400, err.message, { code: err.code.toLowerCase() });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(500, `internal error: ${message}`, { code: 'internal_error' });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    // A stream already started: the status line is gone, so the stream's own error event is all that can be said.
    res.end();
    return;
  }
  sendJson(res, err.status, err.body(), err.headers);
}
