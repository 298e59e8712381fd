// The fuzz/abuse suite: >= 1,000 malformed or hostile requests against a live server over any engine (random
// bytes, truncated JSON, hostile values, raw HTTP garbage, 10 MB bodies, slow-loris, mid-stream disconnects,
// wrong routes), then checks that nothing answered 5xx, that every answer was a well-formed error, that a valid
// request still works and that the engine's KV blocks in use return to zero (read from /metrics).
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { EngineFactory } from './echo-engine.ts';
import { eventually, gauge, isApiError, rawExchange, start } from './helpers.ts';

export interface AbuseOptions {
  seed?: number;
  counts?: Partial<Record<Category, number>>;
  maxTokens?: number; // for the requests that do generate (disconnect tests)
}

type Category =
  | 'randomBytes'
  | 'truncated'
  | 'hostileValues'
  | 'rawHttp'
  | 'hugeBodies'
  | 'slowLoris'
  | 'disconnects'
  | 'routes';

const DEFAULT_COUNTS: Record<Category, number> = {
  randomBytes: 250,
  truncated: 200,
  hostileValues: 300,
  rawHttp: 100,
  hugeBodies: 8,
  slowLoris: 40,
  disconnects: 100,
  routes: 50,
};

export interface AbuseReport {
  total: number;
  byCategory: Record<string, number>;
  statuses: Record<string, number>;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GEN_ROUTES = ['/v1/completions', '/v1/chat/completions', '/generate', '/generate_stream', '/'];

/** Values each field must reject (the suite asserts a 400 for every one). */
const HOSTILE: Record<string, { route: string; base: Record<string, unknown>; field: string[]; values: unknown[] }[]> =
  {
    openai: [
      ['max_tokens', [0, -1, 1.5, 1e308, -1e308, '8', [], {}, true, 1e21]],
      ['temperature', [-1, -1e-9, '0', [], {}, true, -1e308]],
      ['top_p', [0, -0.5, 1.0001, 1e308, '1', []]],
      ['top_k', [-2, 1.5, -1e308, '5', {}]],
      ['seed', [1.5, 1e308, 'x', [], {}]],
      ['stop', [5, [''], [5], {}, true, Array(40).fill('s')]],
      ['stream', ['true', 1, [], {}]],
      ['n', [2, 0, 1e308, '1']],
      ['min_tokens', [-1, 1.5, 'x', 1e6]],
    ].flatMap(([f, values]) => [
      { route: '/v1/completions', base: { prompt: 'hello' }, field: [f as string], values: values as unknown[] },
      {
        route: '/v1/chat/completions',
        base: { messages: [{ role: 'user', content: 'hi' }] },
        field: [f as string],
        values: values as unknown[],
      },
    ]),
    prompts: [
      {
        route: '/v1/completions',
        base: {},
        field: ['prompt'],
        values: [5, [], [-1], [1.5], [1e308], {}, true, null, ['a', 'b'], [[1], [2]], 'x'.repeat(200_000)],
      },
      {
        route: '/v1/chat/completions',
        base: {},
        field: ['messages'],
        values: [
          [],
          'hi',
          [{}],
          [{ role: 'user' }],
          [{ role: 'x', content: 'y' }],
          [{ role: 'user', content: {} }],
          null,
          5,
        ],
      },
      { route: '/generate', base: {}, field: ['inputs'], values: ['', 5, [], null, {}, 'x'.repeat(200_000)] },
      { route: '/generate', base: { inputs: 'hi' }, field: ['parameters'], values: [5, 'x', []] },
    ],
    tgi: [
      ['max_new_tokens', [0, 1e308, 1.5, 'x', 1e6]],
      ['temperature', [0, -1, 'x']],
      ['top_k', [0, -1]],
      ['top_p', [0, 2]],
      ['seed', [-1, 1.5]],
      ['stop', ['x', ['']]],
      ['truncate', [0, -5]],
      ['repetition_penalty', [1.3]],
    ].map(([f, values]) => ({
      route: '/generate_stream',
      base: { inputs: 'hi' },
      field: ['parameters', f as string],
      values: values as unknown[],
    })),
  };

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const out = structuredClone(obj);
  let cur: Record<string, unknown> = out;
  for (const k of path.slice(0, -1)) {
    cur[k] ??= {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path.at(-1)!] = value;
  return out;
}

async function pool<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

export async function abuseSuite(factory: EngineFactory, opts: AbuseOptions = {}): Promise<AbuseReport> {
  const seed = opts.seed ?? 1234;
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const counts = { ...DEFAULT_COUNTS, ...opts.counts };
  const maxTokens = opts.maxTokens ?? 64;
  const srv = await start(factory, {
    maxQueue: 256,
    maxBodyBytes: 256 * 1024,
    headersTimeoutMs: 1000,
    requestTimeoutMs: 2000,
  });
  const statuses: Record<string, number> = {};
  const byCategory: Record<string, number> = {};
  const note = (cat: Category, status: number | string): void => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    byCategory[cat] = (byCategory[cat] ?? 0) + 1;
  };
  const ctx = `seed ${seed}`;

  /** A request that must be refused: a 4xx with the OpenAI error body. */
  const mustFail = async (cat: Category, path: string, body: BodyInit, expect?: number): Promise<void> => {
    const res = await fetch(`${srv.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    const what = `${ctx} ${cat} ${path} ${String(body).slice(0, 60)}`;
    assert.ok(res.status >= 400 && res.status < 500, `${what}: status ${res.status}`);
    if (expect) assert.equal(res.status, expect, what);
    assert.ok(isApiError(JSON.parse(text)), `${what}: ${text.slice(0, 200)}`);
    note(cat, res.status);
  };

  try {
    const valid: Record<string, unknown>[] = [
      { prompt: 'hello there', max_tokens: 8, temperature: 0 },
      { messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 },
      { inputs: 'hello', parameters: { max_new_tokens: 8 } },
    ];
    const jobs: (() => Promise<void>)[] = [];

    for (let i = 0; i < counts.randomBytes; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
      const route = pick(GEN_ROUTES);
      jobs.push(() => mustFail('randomBytes', route, bytes, 400));
    }
    for (let i = 0; i < counts.truncated; i++) {
      const k = Math.floor(rand() * valid.length);
      const text = JSON.stringify(valid[k]);
      const cut = text.slice(0, Math.floor(rand() * (text.length - 1)));
      jobs.push(() =>
        mustFail('truncated', k === 0 ? '/v1/completions' : k === 1 ? '/v1/chat/completions' : '/generate', cut, 400),
      );
    }
    const hostile = Object.values(HOSTILE).flat();
    for (let i = 0; i < counts.hostileValues; i++) {
      const h = pick(hostile);
      const body = JSON.stringify(setPath(h.base, h.field, pick(h.values)));
      jobs.push(() => mustFail('hostileValues', h.route, body, 400));
    }
    // JSON the JS side cannot produce: numbers that overflow to Infinity, deep nesting.
    jobs.push(() => mustFail('hostileValues', '/v1/completions', '{"prompt":"x","max_tokens":1e400}', 400));
    jobs.push(() =>
      mustFail('hostileValues', '/v1/completions', `{"prompt":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, 400),
    );
    jobs.push(() => mustFail('hostileValues', '/generate', '{"inputs":"x","parameters":{"seed":-1e400}}', 400));

    const rawCases: string[] = [
      'GET / HTTP/9.9\r\n\r\n',
      'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /generate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`,
      'GET /he\u0000alth HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /health HTTP/1.1\r\nBad Header\r\n\r\n',
    ];
    for (let i = 0; i < counts.rawHttp; i++) {
      const garbage =
        i < rawCases.length
          ? rawCases[i]!
          : `${Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256))).toString('latin1')}\r\n\r\n`;
      jobs.push(async () => {
        const r = await rawExchange(srv.url, [Buffer.from(garbage, 'latin1')], { endAfter: true, timeoutMs: 5000 });
        assert.ok(r.closedByServer, `${ctx} rawHttp ${JSON.stringify(garbage.slice(0, 40))}: connection left open`);
        if (r.response.status !== 0) {
          assert.ok(r.response.status >= 400 && r.response.status < 500, `${ctx} rawHttp status ${r.response.status}`);
          assert.ok(isApiError(JSON.parse(r.response.body)), `${ctx} rawHttp body ${r.response.body.slice(0, 100)}`);
        }
        note('rawHttp', r.response.status);
      });
    }
    const big = Buffer.alloc(10 * 1024 * 1024, 0x7b);
    for (let i = 0; i < counts.hugeBodies; i++) jobs.push(() => mustFail('hugeBodies', pick(GEN_ROUTES), big, 413));

    for (let i = 0; i < counts.slowLoris; i++) {
      const pieces =
        i % 2 === 0
          ? [...'POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']
          : ['POST /generate HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n', ...'{"inputs":"aaaaaaaaaaaaaaaaaaaa'];
      jobs.push(async () => {
        const r = await rawExchange(srv.url, pieces, { gapMs: 100, timeoutMs: 8000 });
        assert.ok(r.closedByServer && r.ms < 5000, `${ctx} slowLoris: closed ${r.closedByServer} after ${r.ms} ms`);
        if (r.response.status !== 0) assert.equal(r.response.status, 408);
        note('slowLoris', r.response.status);
      });
    }
    for (let i = 0; i < counts.disconnects; i++) {
      const kind = i % 3;
      const body =
        kind === 0
          ? { prompt: 'tell me a story', max_tokens: maxTokens, ignore_eos: true, stream: true }
          : kind === 1
            ? { messages: [{ role: 'user', content: 'story' }], max_tokens: maxTokens, ignore_eos: true, stream: true }
            : { inputs: 'tell me a story', parameters: { max_new_tokens: maxTokens, ignore_eos: true } };
      const path = ['/v1/completions', '/v1/chat/completions', '/generate_stream'][kind]!;
      const afterChunks = Math.floor(rand() * 3); // 0: before the first token arrives
      jobs.push(async () => {
        const ac = new AbortController();
        try {
          const res = await fetch(`${srv.url}${path}`, {
            method: 'POST',
            body: JSON.stringify(body),
            signal: ac.signal,
          });
          assert.equal(res.status, 200, `${ctx} disconnect: status ${res.status}`);
          const reader = res.body!.getReader();
          for (let k = 0; k < afterChunks; k++) if ((await reader.read()).done) break;
          ac.abort();
        } catch (err) {
          if (!ac.signal.aborted) throw err;
        }
        note('disconnects', 'aborted');
      });
    }
    const routeCases: [string, string][] = [
      ['GET', '/v1/completions'],
      ['DELETE', '/generate'],
      ['POST', '/v1/models'],
      ['PUT', '/health'],
      ['GET', '/%'],
      ['GET', '/../../etc/passwd'],
      ['GET', `/${'a'.repeat(8000)}`],
      ['PATCH', '/v1/chat/completions'],
      ['GET', '/v2/completions'],
      ['POST', '/metrics'],
    ];
    for (let i = 0; i < counts.routes; i++) {
      const [method, path] = routeCases[i % routeCases.length]!;
      jobs.push(async () => {
        const res = await fetch(`${srv.url}${path}`, { method });
        const text = await res.text();
        assert.ok([400, 404, 405].includes(res.status), `${ctx} ${method} ${path.slice(0, 40)}: ${res.status}`);
        assert.ok(isApiError(JSON.parse(text)), text);
        note('routes', res.status);
      });
    }

    // Shuffled, so the disconnects and slow connections overlap the floods of bad requests.
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }
    await pool(jobs, 24, (job) => job());

    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const r = await client.completions.create({
      model: 'm',
      prompt: 'still alive?',
      max_tokens: 4,
      ignore_eos: true,
    } as OpenAI.CompletionCreateParamsNonStreaming);
    assert.equal(r.usage?.completion_tokens, 4, 'the server still answers a valid request');
    const drained = await eventually(async () => (await gauge(srv.url, 'bench_engine_kv_blocks_used')) === 0, 15_000);
    assert.ok(
      drained,
      `KV blocks in use did not return to zero: ${await gauge(srv.url, 'bench_engine_kv_blocks_used')}`,
    );
    assert.equal(await gauge(srv.url, 'bench_server_requests_in_flight'), 0);
    assert.equal(await gauge(srv.url, 'bench_engine_requests_running'), 0);
    assert.equal(await gauge(srv.url, 'bench_engine_requests_waiting'), 0);
    const total = Object.values(byCategory).reduce((a, b) => a + b, 0);
    return { total, byCategory, statuses };
  } finally {
    await srv.stop();
  }
}
