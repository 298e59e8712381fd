import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createClient } from '../../../harness/clients/index.ts';
import { runScenario } from '../../../harness/run/run.ts';
import { loadScenarioText } from '../../../harness/scenario/load.ts';
import type { RequestSpec } from '../../../harness/workload/prompts.ts';
import { startFakeServer } from '../fixtures/fake-server.ts';

const REQ: RequestSpec = {
  prompt: 'hi there',
  promptTokens: 3,
  outputTokens: 8,
  ignoreEos: true,
  temperature: 0,
  seed: 9,
};

async function withServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
  fn: (url: string) => Promise<void>,
) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('OpenAI request body: fixed lengths (ignore_eos, min_tokens), usage in the stream, API key header', async () => {
  let seen: { body: Record<string, unknown>; auth?: string; path?: string } | undefined;
  await withServer(
    (req, res, body) => {
      seen = {
        body: JSON.parse(body) as Record<string, unknown>,
        ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
        ...(req.url ? { path: req.url } : {}),
      };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices":[{"text":"a","finish_reason":"length"}]}\n\ndata: [DONE]\n\n');
    },
    async (url) => {
      const c = createClient('openai', {
        baseUrl: url,
        model: 'm1',
        headers: { authorization: 'Bearer k' },
        connections: 1,
        timeoutMs: 5000,
      });
      const out = await c.send(REQ);
      await c.close();
      assert.equal(out.error, undefined);
      assert.equal(out.finishReason, 'length');
    },
  );
  assert.equal(seen?.path, '/v1/completions');
  assert.equal(seen?.auth, 'Bearer k');
  assert.deepEqual(seen?.body, {
    model: 'm1',
    prompt: 'hi there',
    max_tokens: 8,
    temperature: 0,
    seed: 9,
    ignore_eos: true,
    min_tokens: 8,
    stream: true,
    stream_options: { include_usage: true, continuous_usage_stats: true },
  });
});

const FAILURES: { name: string; respond: (res: ServerResponse) => void; kind: string; message?: RegExp }[] = [
  {
    name: 'HTTP 400 with an OpenAI error body',
    respond: (res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"max_tokens too large","type":"invalid_request_error"}}');
    },
    kind: 'http4xx',
    message: /HTTP 400: max_tokens too large/,
  },
  {
    name: 'HTTP 503',
    respond: (res) => {
      res.writeHead(503);
      res.end('overloaded');
    },
    kind: 'http5xx',
    message: /HTTP 503: overloaded/,
  },
  {
    name: 'a stream without [DONE]',
    respond: (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices":[{"text":"a"}]}\n\n');
    },
    kind: 'truncated',
  },
  {
    name: 'an error object inside the stream',
    respond: (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"error":{"message":"device lost"}}\n\n');
    },
    kind: 'http5xx',
    message: /device lost/,
  },
  {
    name: 'a connection closed mid-stream',
    respond: (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[{"text":"a"}]}\n\n');
      setTimeout(() => res.socket?.destroy(), 20);
    },
    kind: 'connection',
  },
];

for (const f of FAILURES) {
  test(`error kinds: ${f.name} -> ${f.kind}`, async () => {
    await withServer(
      (_req, res) => f.respond(res),
      async (url) => {
        const c = createClient('openai', { baseUrl: url, headers: {}, connections: 1, timeoutMs: 5000 });
        const out = await c.send(REQ);
        await c.close();
        assert.equal(out.error?.kind, f.kind, JSON.stringify(out.error));
        if (f.message) assert.match(out.error?.message ?? '', f.message);
      },
    );
  });
}

test('error kinds: connection refused', async () => {
  const c = createClient('openai', { baseUrl: 'http://127.0.0.1:1', headers: {}, connections: 1, timeoutMs: 5000 });
  const out = await c.send(REQ);
  await c.close();
  assert.equal(out.error?.kind, 'connection');
});

test('unknown api kinds list the known ones', () => {
  assert.throws(
    () => createClient('grpc', { baseUrl: 'http://x', headers: {}, connections: 1, timeoutMs: 1 }),
    /unknown api "grpc"; known: openai, tgi/,
  );
});

test('TGI generate_stream: one token per event, details give the count and finish reason', async () => {
  const server = await startFakeServer({ ttftMs: 2, gapMs: 1 });
  try {
    const c = createClient('tgi', { baseUrl: server.url, headers: {}, connections: 1, timeoutMs: 5000 });
    const out = await c.send(REQ);
    await c.close();
    assert.equal(out.error, undefined);
    assert.deepEqual(out.chunkTokens, [1, 1, 1, 1, 1, 1, 1, 1]);
    assert.equal(out.outputTokensReported, 8);
    assert.equal(out.finishReason, 'length');
  } finally {
    await server.close();
  }
});

test('autocannon mode: raw non-streaming request rate', async () => {
  const server = await startFakeServer({ ttftMs: 1 });
  try {
    const yaml = `name: ac\ntarget: { url: ${server.url}, model: m }\nworkload: { outputTokens: 4 }\nload: { mode: autocannon, connections: 2, duration: 1s }\nreport: { formats: [md] }\n`;
    const out = await runScenario(loadScenarioText(yaml, 'ac.yaml'), { outDir: `/tmp/bench-ac-${process.pid}` });
    const c = out.results.configs[0];
    assert.equal(c?.status, 'ok');
    assert.ok((c?.summary.requestPerS ?? 0) > 50, `req/s ${c?.summary.requestPerS}`);
    assert.ok((c?.summary.e2e.p50 ?? 0) >= 1);
    assert.equal(c?.summary.requests.failed, 0);
    assert.ok(c?.raw?.autocannon);
  } finally {
    await server.close();
  }
});
