// Shared by the server tests: start a server on a free loopback port over an engine from a factory, read
// /metrics, and talk raw TCP where a well-behaved client library would refuse to send what we need.
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Engine } from '../../../engine/runtime/types.ts';
import { type ServerHandle, type ServerOptions, startServer } from '../../../engine/server/server.ts';
import { type EngineFactory, echoEngineFactory } from './echo-engine.ts';

export interface Running {
  engine: Engine;
  server: ServerHandle;
  url: string;
  stop(): Promise<void>;
}

export async function start(factory: EngineFactory, opts: Partial<ServerOptions> = {}): Promise<Running> {
  const engine = await factory();
  const server = await startServer(engine, {
    host: '127.0.0.1',
    port: 0,
    maxQueue: 64,
    toggles: {},
    log: () => {}, // tests assert on responses, not on the server's log lines
    ...opts,
  });
  return {
    engine,
    server,
    url: server.url,
    stop: async () => {
      await server.close();
      await engine.close();
    },
  };
}

/**
 * The engine the suites run against: the echo engine by default, or the module named by BENCH_SERVER_ENGINE
 * (a path relative to the project root whose `engineFactory` export is an EngineFactory), e.g.
 * `BENCH_SERVER_ENGINE=test/engine/server/real-engine.ts node scripts/test.mjs server/abuse`.
 */
export async function engineFactoryFromEnv(
  fallback: EngineFactory = echoEngineFactory(),
): Promise<{ name: string; factory: EngineFactory }> {
  const path = process.env.BENCH_SERVER_ENGINE;
  if (!path) return { name: 'echo engine', factory: fallback };
  const mod = (await import(pathToFileURL(resolve(path)).href)) as { engineFactory?: EngineFactory };
  if (typeof mod.engineFactory !== 'function')
    throw new Error(`${path} must export engineFactory: () => Promise<Engine>`);
  return { name: path, factory: mod.engineFactory };
}

/** Values of one Prometheus metric family from /metrics (label sets joined as text). */
export async function metric(
  url: string,
  name: string,
  headers: Record<string, string> = {},
): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers });
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

export async function gauge(url: string, name: string): Promise<number> {
  const v = (await metric(url, name)).get('');
  if (v === undefined) throw new Error(`/metrics has no ${name}`);
  return v;
}

/** Polls until `f()` returns true or the deadline passes; returns the last value of f(). */
export async function eventually(f: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await f()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface RawResponse {
  status: number; // 0: the server closed without answering
  headers: string;
  body: string;
}

/** Splits a raw HTTP/1.1 response with a content-length body (what the server sends for every error). */
export function parseRaw(raw: Buffer): RawResponse {
  const text = raw.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: text, body: '' };
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, headers: text.slice(0, end), body: text.slice(end + 4) };
}

/**
 * Sends raw bytes (in pieces, `gapMs` apart) on a fresh TCP connection, half-closing or holding it open, and
 * resolves with whatever came back when the server closes the connection or `timeoutMs` passes.
 */
export function rawExchange(
  url: string,
  pieces: (Buffer | string)[],
  opts: { gapMs?: number; timeoutMs?: number; endAfter?: boolean } = {},
): Promise<{ response: RawResponse; closedByServer: boolean; ms: number }> {
  const { port, hostname } = new URL(url);
  const t0 = Date.now();
  return new Promise((resolvePromise) => {
    const sock = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolvePromise({ response: parseRaw(Buffer.concat(chunks)), closedByServer, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    sock.on('data', (c) => chunks.push(c));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true)); // a reset is also the server closing; what it sent first still counts
    sock.on('connect', async () => {
      for (const p of pieces) {
        if (done || sock.destroyed) return;
        sock.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.endAfter && !sock.destroyed) sock.end();
    });
  });
}

/** The OpenAI error shape every failure must have. */
export function isApiError(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const e = (body as { error?: unknown }).error;
  if (e === null || typeof e !== 'object') return false;
  const { message, type, param, code } = e as Record<string, unknown>;
  return (
    typeof message === 'string' &&
    message.length > 0 &&
    typeof type === 'string' &&
    (param === null || typeof param === 'string') &&
    (code === null || typeof code === 'string')
  );
}
