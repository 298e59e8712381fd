// Routing, authentication, body and queue limits, and cancellation on disconnect, against a live server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { echoEngineFactory } from './echo-engine.ts';
import { eventually, gauge, isApiError, metric, start } from './helpers.ts';

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

test('unknown routes get 404, wrong methods 405 with Allow; HEAD works where GET does', async () => {
  const srv = await start(echoEngineFactory());
  try {
    const nf = await fetch(`${srv.url}/v1/nope`);
    assert.equal(nf.status, 404);
    const nfBody = await nf.json();
    assert.ok(isApiError(nfBody));
    assert.equal((nfBody as { error: { code: string } }).error.code, 'not_found');
    const wm = await fetch(`${srv.url}/v1/completions`);
    assert.equal(wm.status, 405);
    assert.equal(wm.headers.get('allow'), 'POST');
    assert.ok(isApiError(await wm.json()));
    const wm2 = await fetch(`${srv.url}/health`, { method: 'DELETE' });
    assert.equal(wm2.status, 405);
    assert.equal(wm2.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${srv.url}/health`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const slash = await fetch(`${srv.url}/v1/models/`);
    assert.equal(slash.status, 200, 'a trailing slash names the same route');
  } finally {
    await srv.stop();
  }
});

test('with an API key: 401 without or with a wrong Bearer token; /health stays open', async () => {
  const srv = await start(echoEngineFactory(), { apiKey: 'sekret' });
  try {
    const body = { prompt: 'hi', max_tokens: 2 };
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'sekret' },
      { authorization: 'Basic sekret' },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${srv.url}/v1/completions`, { ...json(body), headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      const e = (await res.json()) as { error: { code: string; type: string } };
      assert.equal(e.error.code, 'invalid_api_key');
      assert.equal(e.error.type, 'authentication_error');
    }
    assert.equal((await fetch(`${srv.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${srv.url}/generate`, json({ inputs: 'x' }))).status, 401);
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);
    const ok = await fetch(`${srv.url}/v1/completions`, { ...json(body), headers: { authorization: 'Bearer sekret' } });
    assert.equal(ok.status, 200);
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
    const r = await client.completions.create({ model: 'm', prompt: 'hi', max_tokens: 2 });
    assert.equal(r.choices[0]?.text, 'hi');
    const bad = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(bad.completions.create({ model: 'm', prompt: 'hi' }), OpenAI.AuthenticationError);
  } finally {
    await srv.stop();
  }
});

test('bodies over the limit get 413, declared or chunked, and the server keeps serving', async () => {
  const srv = await start(echoEngineFactory(), { maxBodyBytes: 64 * 1024 });
  try {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const declared = await fetch(`${srv.url}/v1/completions`, { method: 'POST', body: big });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { error: { code: string } }).error.code, 'payload_too_large');
    // No content-length: the limit is enforced while reading.
    let sent = 0;
    const chunked = await fetch(`${srv.url}/generate`, {
      method: 'POST',
      duplex: 'half',
      body: new ReadableStream({
        pull(c) {
          if (sent >= big.length) c.close();
          else {
            c.enqueue(big.subarray(sent, sent + 65536));
            sent += 65536;
          }
        },
      }),
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.ok(isApiError(await chunked.json()));
    const ok = await fetch(`${srv.url}/v1/completions`, json({ prompt: 'still here', max_tokens: 5 }));
    assert.equal(ok.status, 200);
  } finally {
    await srv.stop();
  }
});

test('past --max-queue requests get 429 with Retry-After; capacity returns when they finish', async () => {
  const srv = await start(echoEngineFactory({ tokenDelayMs: 30 }), { maxQueue: 2 });
  try {
    const long = { prompt: 'abcdefgh', max_tokens: 8, stream: true };
    const running = [
      await fetch(`${srv.url}/v1/completions`, json(long)),
      await fetch(`${srv.url}/v1/completions`, json(long)),
    ];
    assert.equal(await gauge(srv.url, 'bench_server_requests_in_flight'), 2);
    const rejected = await fetch(`${srv.url}/v1/completions`, json({ prompt: 'x', max_tokens: 1 }));
    assert.equal(rejected.status, 429);
    assert.equal(rejected.headers.get('retry-after'), '1');
    const e = (await rejected.json()) as { error: { code: string; type: string } };
    assert.deepEqual([e.error.code, e.error.type], ['queue_full', 'rate_limit_error']);
    const tgi = await fetch(`${srv.url}/generate`, json({ inputs: 'x' }));
    assert.equal(tgi.status, 429);
    await tgi.body?.cancel();
    await Promise.all(running.map((r) => r.text()));
    const ok = await fetch(`${srv.url}/v1/completions`, json({ prompt: 'x', max_tokens: 1 }));
    assert.equal(ok.status, 200);
    assert.equal((await metric(srv.url, 'bench_server_rejected_total')).get('{reason="queue_full"}'), 2);
  } finally {
    await srv.stop();
  }
});

test('a client that disconnects mid-stream or mid-request cancels its sequence and frees its KV blocks', async () => {
  const srv = await start(echoEngineFactory({ tokenDelayMs: 20 }));
  try {
    for (const [path, body] of [
      ['/v1/completions', { prompt: 'x'.repeat(100), max_tokens: 300, ignore_eos: true, stream: true }],
      [
        '/v1/chat/completions',
        { messages: [{ role: 'user', content: 'x' }], max_tokens: 300, ignore_eos: true, stream: true },
      ],
      ['/generate_stream', { inputs: 'x'.repeat(100), parameters: { max_new_tokens: 300, ignore_eos: true } }],
    ] as const) {
      const ac = new AbortController();
      const res = await fetch(`${srv.url}${path}`, { ...json(body), signal: ac.signal });
      const reader = res.body!.getReader();
      await reader.read();
      assert.ok((await gauge(srv.url, 'bench_engine_kv_blocks_used')) > 0, 'blocks held while streaming');
      ac.abort();
    }
    // Non-streaming: the client gives up while the engine is still generating.
    await assert.rejects(
      fetch(`${srv.url}/v1/completions`, {
        ...json({ prompt: 'y', max_tokens: 300, ignore_eos: true }),
        signal: AbortSignal.timeout(100),
      }),
    );
    assert.ok(
      await eventually(async () => (await gauge(srv.url, 'bench_engine_kv_blocks_used')) === 0),
      'KV blocks return to zero',
    );
    assert.equal(await gauge(srv.url, 'bench_server_requests_in_flight'), 0);
    assert.equal(await gauge(srv.url, 'bench_engine_requests_running'), 0);
    assert.equal((await metric(srv.url, 'bench_server_cancelled_total')).get('{reason="client"}'), 4);
  } finally {
    await srv.stop();
  }
});

test('/metrics is Prometheus text with the engine and server families', async () => {
  const srv = await start(echoEngineFactory());
  try {
    await fetch(`${srv.url}/v1/completions`, json({ prompt: 'abc', max_tokens: 3 }));
    await fetch(`${srv.url}/nope`);
    const res = await fetch(`${srv.url}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of text.trimEnd().split('\n')) {
      assert.match(line, /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? [-+0-9.eENa]+)$/, line);
    }
    const http = await metric(srv.url, 'bench_http_requests_total');
    assert.equal(http.get('{route="/v1/completions",status="200"}'), 1);
    assert.equal(http.get('{route="unmatched",status="404"}'), 1);
    assert.equal(await gauge(srv.url, 'bench_engine_generation_tokens_total'), 3);
    assert.equal(await gauge(srv.url, 'bench_server_generation_tokens_total'), 3);
    assert.equal(await gauge(srv.url, 'bench_engine_prompt_tokens_total'), 4);
    assert.equal(await gauge(srv.url, 'bench_engine_kv_blocks_free'), 4096);
    assert.ok((await gauge(srv.url, 'bench_engine_step_seconds_total')) > 0);
  } finally {
    await srv.stop();
  }
});
