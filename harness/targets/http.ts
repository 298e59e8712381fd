// Small HTTP helpers for control endpoints (/health, /info, /metrics, /v1/models) and free ports.
import { createServer } from 'node:net';
import { request } from 'undici';

export interface GetResult {
  status: number;
  text: string;
}

/** GET with a timeout; resolves undefined on any network error (the caller decides what that means). */
export async function tryGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<GetResult | undefined> {
  try {
    const res = await request(url, { method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.statusCode, text: await res.body.text() };
  } catch {
    return undefined; // unreachable or timed out: the caller reports it in its own terms
  }
}

export async function tryGetJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown> | undefined> {
  const r = await tryGet(url, headers);
  if (r?.status !== 200) return undefined;
  try {
    const v = JSON.parse(r.text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // not JSON: the endpoint is not what we hoped for, treat as absent
  }
}

/** Polls GET url until it answers 200, `isDead()` says to give up, or the deadline passes. */
export async function waitForHealth(
  url: string,
  deadline: number,
  isDead: () => boolean,
  headers: Record<string, string> = {},
): Promise<boolean> {
  while (performance.now() < deadline && !isDead()) {
    const r = await tryGet(url, headers, 2000);
    if (r?.status === 200) return true;
    await new Promise((res) => setTimeout(res, 100));
  }
  return false;
}

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close): `bench serve` is then told to use it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The URL without user info, which may hold credentials. */
export function publicUrl(u: URL): string {
  const c = new URL(u.toString());
  c.username = '';
  c.password = '';
  return c.toString().replace(/\/$/, '');
}
