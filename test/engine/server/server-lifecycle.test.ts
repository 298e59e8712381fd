// Timeouts against slow clients (slow-loris), long streams outliving the request timeout, and graceful close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { EchoEngine, echoEngineFactory } from './echo-engine.ts';
import { isApiError, rawExchange, start } from './helpers.ts';

const timeouts = { headersTimeoutMs: 400, requestTimeoutMs: 800 };

test('slow-loris: trickled headers, trickled bodies and silent connections are cut with 408 within the bounds', async () => {
  const srv = await start(echoEngineFactory(), timeouts);
  try {
    const headerBytes = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(40)}`;
    const [headers, body, silent] = await Promise.all([
      rawExchange(srv.url, [...headerBytes], { gapMs: 50, timeoutMs: 6000 }),
      rawExchange(
        srv.url,
        [
          'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
          ...'{"prompt":"',
        ],
        { gapMs: 150, timeoutMs: 6000 },
      ),
      rawExchange(srv.url, [], { timeoutMs: 6000 }),
    ]);
    for (const [name, r, bound] of [
      ['headers', headers, 2000],
      ['body', body, 3000],
      ['silent', silent, 2000],
    ] as const) {
      assert.ok(r.closedByServer, `${name}: the server closed the connection`);
      assert.ok(r.ms < bound, `${name}: closed after ${r.ms} ms (bound ${bound})`);
      if (r.response.status !== 0) {
        assert.equal(r.response.status, 408, name);
        assert.ok(isApiError(JSON.parse(r.response.body)), name);
      }
    }
    assert.equal(headers.response.status, 408);
    assert.equal(body.response.status, 408);
    const ok = await fetch(`${srv.url}/health`);
    assert.equal(ok.status, 200);
  } finally {
    await srv.stop();
  }
});

test('a stream longer than the request timeout is not cut (the timeout covers receiving the request)', async () => {
  const srv = await start(echoEngineFactory({ tokenDelayMs: 10 }), timeouts);
  try {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const t0 = Date.now();
    const s = await client.completions.create({
      model: 'm',
      prompt: 'ab',
      max_tokens: 120,
      ignore_eos: true,
      stream: true,
    } as OpenAI.CompletionCreateParamsStreaming);
    let n = 0;
    let finish: string | null = null;
    for await (const c of s) {
      n += c.choices[0]?.text.length ?? 0;
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(Date.now() - t0 > timeouts.requestTimeoutMs, 'the stream outlived the request timeout');
    assert.equal(n, 120);
    assert.equal(finish, 'length');
  } finally {
    await srv.stop();
  }
});

test('close(): running streams finish within the grace period, then new connections are refused', async () => {
  const engine = new EchoEngine({ tokenDelayMs: 5 });
  const srv = await start(async () => engine, { shutdownGraceMs: 3000 });
  const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const s = await client.completions.create({
    model: 'm',
    prompt: 'ab',
    max_tokens: 40,
    ignore_eos: true,
    stream: true,
  } as OpenAI.CompletionCreateParamsStreaming);
  const it = s[Symbol.asyncIterator]();
  await it.next(); // the stream is running
  const closing = srv.server.close();
  let text = '';
  let finish: string | null = null;
  for (let r = await it.next(); !r.done; r = await it.next()) {
    text += r.value.choices[0]?.text ?? '';
    finish = r.value.choices[0]?.finish_reason ?? finish;
  }
  await closing;
  assert.equal(finish, 'length');
  assert.equal(text.length, 39, 'every remaining token arrived');
  await assert.rejects(fetch(`${srv.url}/health`), 'the listener is closed');
  assert.equal(engine.metrics().kvBlocksUsed, 0);
});

test('close(): streams past the grace period are cancelled with an error event, within a bound', async () => {
  const engine = new EchoEngine({ tokenDelayMs: 10 });
  const srv = await start(async () => engine, { shutdownGraceMs: 200 });
  const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const openai = await client.completions.create({
    model: 'm',
    prompt: 'ab',
    max_tokens: 400,
    ignore_eos: true,
    stream: true,
  } as OpenAI.CompletionCreateParamsStreaming);
  const tgi = await fetch(`${srv.url}/generate_stream`, {
    method: 'POST',
    body: JSON.stringify({ inputs: 'ab', parameters: { max_new_tokens: 400, ignore_eos: true } }),
  });
  const it = openai[Symbol.asyncIterator]();
  await it.next();
  const t0 = Date.now();
  const closing = srv.server.close();
  const drain = async (): Promise<void> => {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      /* tokens until the cancellation */
    }
  };
  await assert.rejects(drain(), (e: unknown) => e instanceof OpenAI.APIError && /shutting down/.test(e.message));
  const tgiText = await tgi.text();
  assert.match(
    tgiText,
    /data: \{"error":"generation was cancelled because the server is shutting down; retry","error_type":"overloaded"\}/,
  );
  await closing;
  assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
  assert.equal(engine.metrics().kvBlocksUsed, 0);
  assert.equal(engine.metrics().requestsRunning, 0);
});
