// A small method+path router: exact paths only (the APIs we serve have no path parameters), with the
// distinction clients rely on between "no such route" (404) and "route exists, wrong method" (405 + Allow).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

export type Handler = (rc: RouteContext) => Promise<void> | void;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
  /** False for routes a load balancer or orchestrator probes without credentials (/health). */
  auth: boolean;
}

export type Match =
  | { kind: 'found'; route: Route }
  | { kind: 'not_found' }
  | { kind: 'wrong_method'; path: string; allow: string[] };

export class Router {
  private readonly routes = new Map<string, Map<string, Route>>();

  add(method: string, path: string, handler: Handler, opts: { auth?: boolean } = {}): this {
    let byMethod = this.routes.get(path);
    if (!byMethod) {
      byMethod = new Map();
      this.routes.set(path, byMethod);
    }
    byMethod.set(method, { method, path, handler, auth: opts.auth ?? true });
    return this;
  }

  match(method: string, pathname: string): Match {
    const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    const byMethod = this.routes.get(path);
    if (!byMethod) return { kind: 'not_found' };
    // HEAD is answered by the GET handler; node drops the body for HEAD responses.
    const route = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
    if (route) return { kind: 'found', route };
    const allow = [...byMethod.keys()];
    if (allow.includes('GET')) allow.push('HEAD');
    return { kind: 'wrong_method', path, allow };
  }

  paths(): string[] {
    return [...this.routes.keys()];
  }
}
