// `bench serve`'s HTTP server on node:http: OpenAI and TGI dialects over one Engine, with the defences a
// load-test target needs (body limit, header/request timeouts against slow-loris, admission limit, API key,
// cancellation on disconnect) and a bounded graceful close.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from '../errors.ts';
import type { Engine } from '../runtime/types.ts';
import { ClientGoneError, DEFAULT_MAX_BODY_BYTES, discardRest, parseJsonObject, readBody } from './body.ts';
import { resolveChatTemplate } from './chat-template.ts';
import { newCounters, type ServerState } from './generation.ts';
import { ApiError, sendError, sendJson, toApiError } from './http-error.ts';
import { renderMetrics } from './metrics-text.ts';
import { type RouteContext, Router } from './router.ts';
import { registerOpenAiRoutes } from './routes-openai.ts';
import { registerTgiRoutes } from './routes-tgi.ts';

export interface ServerOptions {
  host: string;
  port: number; // 0: any free port (the handle's url tells which)
  apiKey?: string; // when set, every route but /health wants `Authorization: Bearer <key>`
  maxQueue: number; // generation requests waiting + running; past it, 429
  maxBodyBytes?: number; // default 1 MiB; larger bodies get 413 and are never buffered
  chatTemplate?: string; // built-in name (plain, llama2, llama3) or a YAML file; default: detected from the vocabulary
  toggles: Record<string, unknown>; // what the engine runs with, reported by /info
  adapter?: string; // the GPU adapter, reported by /info
  extraInfo?: Record<string, unknown>; // more /info fields (e.g. memoryBytes, features)
  modelName?: string; // the id /v1/models and responses show; default: engine.info.name
  headersTimeoutMs?: number; // default 10 s: a client must finish its headers within this
  requestTimeoutMs?: number; // default 30 s: ... and its whole request (headers + body) within this
  keepAliveTimeoutMs?: number; // default 5 s of idleness between requests on one connection
  stallTimeoutMs?: number; // default 30 s: a streaming client that reads nothing for this long is dropped
  shutdownGraceMs?: number; // default 10 s: close() lets generations finish this long, then cancels them
  maxConnections?: number; // default 1024 open sockets
  log?: (msg: string) => void; // default: stderr
}

export interface ServerHandle {
  url: string;
  /** Stops accepting, lets running generations finish within the grace period, cancels the rest, closes sockets. */
  close(): Promise<void>;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function authorized(req: IncomingMessage, keyHash: Buffer): boolean {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
  return timingSafeEqual(sha256(h.slice('Bearer '.length).trim()), keyHash); // hashes: equal length, constant time
}

/** Errors node's HTTP parser raises before a request exists (garbage bytes, oversized headers, timeouts). */
function onClientError(state: ServerState, err: NodeJS.ErrnoException, socket: Socket): void {
  const inProgress = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || inProgress) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const key = `unparsed ${status}`;
  state.counters.httpRequests.set(key, (state.counters.httpRequests.get(key) ?? 0) + 1);
  const message =
    status === 408 ? 'request not received in time' : `malformed HTTP request (${err.code ?? err.message})`;
  const body = JSON.stringify(new ApiError(status, message, { code: err.code ?? null }).body());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export async function startServer(engine: Engine, opts: ServerOptions): Promise<ServerHandle> {
  if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 1)
    throw new BenchError('BAD_INPUT', `--max-queue must be a positive integer (got ${opts.maxQueue})`);
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = opts.log ?? ((msg: string) => process.stderr.write(`[serve] ${msg}\n`));
  const template = resolveChatTemplate(engine.tokenizer, opts.chatTemplate);
  const state: ServerState = {
    engine,
    modelId: opts.modelName ?? engine.info.name,
    maxQueue: opts.maxQueue,
    stallMs: opts.stallTimeoutMs ?? 30_000,
    inFlight: 0,
    closing: false,
    active: new Set(),
    counters: newCounters(),
    log,
  };
  const keyHash = opts.apiKey ? sha256(opts.apiKey) : undefined;
  const readJson = async (rc: RouteContext): Promise<unknown> => parseJsonObject(await readBody(rc.req, maxBodyBytes));

  const router = new Router();
  router.add('GET', '/health', ({ res }) => sendJson(res, 200, { status: 'ok', model: state.modelId }), {
    auth: false,
  });
  router.add('GET', '/metrics', ({ res }) => {
    const text = renderMetrics(engine.metrics(), state.counters, {
      inFlight: state.inFlight,
      maxQueue: state.maxQueue,
    });
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  });
  registerOpenAiRoutes(router, state, template, readJson);
  registerTgiRoutes(router, state, readJson, {
    adapter: opts.adapter,
    toggles: opts.toggles,
    info: opts.extraInfo ?? {},
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let label = 'unmatched'; // unknown paths share one label so fuzzed URLs cannot blow up /metrics
    res.once('close', () => {
      const key = `${label} ${res.statusCode}`;
      state.counters.httpRequests.set(key, (state.counters.httpRequests.get(key) ?? 0) + 1);
    });
    try {
      if (state.closing) {
        res.shouldKeepAlive = false;
        throw new ApiError(503, 'server is shutting down; retry against another instance', { code: 'shutting_down' });
      }
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new ApiError(400, 'request target is not a valid URL path', { code: 'invalid_url' });
      }
      const method = req.method ?? 'GET';
      const m = router.match(method, url.pathname);
      if (m.kind === 'not_found') {
        throw new ApiError(404, `no route ${method} ${url.pathname}; routes: ${router.paths().join(', ')}`, {
          code: 'not_found',
        });
      }
      if (m.kind === 'wrong_method') {
        label = m.path;
        throw new ApiError(405, `${url.pathname} does not accept ${method}; use ${m.allow.join(' or ')}`, {
          code: 'method_not_allowed',
          headers: { allow: m.allow.join(', ') },
        });
      }
      label = m.route.path;
      if (m.route.auth && keyHash && !authorized(req, keyHash)) {
        throw new ApiError(401, 'missing or wrong API key; send the header "Authorization: Bearer <key>"', {
          code: 'invalid_api_key',
        });
      }
      await m.route.handler({ req, res, url });
    } catch (err) {
      if (err instanceof ClientGoneError) {
        res.destroy();
        return;
      }
      const e = toApiError(err);
      if (e.status >= 500 && e.apiCode !== 'shutting_down' && e.apiCode !== 'cancelled')
        log(`${req.method} ${req.url}: ${e.message}`);
      sendError(res, e);
      if (e.status === 413) discardRest(req, res);
    }
  };

  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(opts.requestTimeoutMs ?? 30_000, headersTimeout);
  const server: Server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
      // node checks the two timeouts above only this often (default 30 s): keep it a fraction of the shortest.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
      noDelay: true, // every SSE chunk is timed by clients: no Nagle delay
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        log(`unhandled error serving ${req.method} ${req.url}: ${String(err)}`);
        res.destroy();
      });
    },
  );
  server.maxConnections = opts.maxConnections ?? 1024;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => onClientError(state, err, socket));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new BenchError(
          'BAD_INPUT',
          `cannot listen on ${opts.host}:${opts.port} (${err.code ?? err.message}); pick another --host/--port`,
          {
            cause: err,
          },
        ),
      );
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log(`server error: ${err.message}`));
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      state.closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const waitIdle = async (ms: number): Promise<void> => {
        const deadline = Date.now() + ms;
        while (state.active.size > 0 && Date.now() < deadline) await sleep(20);
      };
      await waitIdle(opts.shutdownGraceMs ?? 10_000);
      for (const slot of state.active) slot.cancel('shutdown');
      await waitIdle(2_000); // cancelled streams write their error event and end
      server.closeIdleConnections();
      await Promise.race([closed, sleep(1_000)]);
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };
  return { url: `http://${host}:${addr.port}`, close };
}
