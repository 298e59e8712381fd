// Reads a JSON request body with a hard byte limit. Bytes past the limit are never kept: a 10 MB upload to a
// 1 MiB server costs at most 1 MiB of memory, and the connection is closed after the 413 goes out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest } from './http-error.ts';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** How long a rejected upload may keep draining so that the client reads its 413 rather than a reset. */
const DRAIN_AFTER_REJECT_MS = 1000;

export class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection before the request body was complete');
    this.name = 'ClientGoneError';
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, `request body exceeds ${limit} bytes; send a smaller request`, {
    code: 'payload_too_large',
    headers: { connection: 'close' },
  });
}

/**
 * After a 413 the rest of the upload is discarded (not buffered) for a short while, then the socket is destroyed.
 * Closing at once would make the kernel reset the connection while the client is still sending, and many clients
 * then report "connection reset" instead of the 413.
 */
export function discardRest(req: IncomingMessage, res: ServerResponse): void {
  req.removeAllListeners('data');
  req.resume();
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_AFTER_REJECT_MS);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new ClientGoneError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Parses a body that must be one JSON object; anything else is the client's error, never a 500. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw badRequest('request body is empty; send a JSON object', null, 'invalid_json');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw badRequest(`request body is not valid JSON (${detail})`, null, 'invalid_json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('request body must be a JSON object', null, 'invalid_json');
  }
  return value as Record<string, unknown>;
}
