// Request validation, table-driven over HTTP: every bad request gets a 400 in OpenAI's error shape naming the
// offending field (`param`) and a code; the echo engine's context is 512 tokens and its vocabulary 259 ids.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { echoEngineFactory } from './echo-engine.ts';
import { isApiError, type Running, start } from './helpers.ts';

let srv: Running;
before(async () => {
  srv = await start(echoEngineFactory());
});
after(() => srv.stop());

type Case = [path: string, body: unknown, param: string | null, code: string];
const C = '/v1/completions';
const CHAT = '/v1/chat/completions';
const user = [{ role: 'user', content: 'hi' }];

const cases: Case[] = [
  [C, {}, 'prompt', 'invalid_value'],
  [C, { prompt: 5 }, 'prompt', 'invalid_value'],
  [C, { prompt: [] }, 'prompt', 'invalid_value'],
  [C, { prompt: [1, -1] }, 'prompt.1', 'out_of_range'],
  [C, { prompt: [1, 300] }, 'prompt', 'invalid_value'], // past the vocabulary
  [C, { prompt: ['a', 'b'] }, 'prompt', 'invalid_value'],
  [C, { prompt: 'x', max_tokens: 0 }, 'max_tokens', 'out_of_range'],
  [C, { prompt: 'x', max_tokens: 1.5 }, 'max_tokens', 'invalid_type'],
  [C, { prompt: 'x', max_tokens: '5' }, 'max_tokens', 'invalid_type'],
  [C, { prompt: 'x', max_tokens: 1e308 }, 'max_tokens', 'out_of_range'],
  [C, { prompt: 'x', temperature: -0.1 }, 'temperature', 'out_of_range'],
  [C, { prompt: 'x', temperature: '1' }, 'temperature', 'invalid_type'],
  [C, { prompt: 'x', top_p: 0 }, 'top_p', 'out_of_range'],
  [C, { prompt: 'x', top_p: 1.01 }, 'top_p', 'out_of_range'],
  [C, { prompt: 'x', top_k: -2 }, 'top_k', 'out_of_range'],
  [C, { prompt: 'x', seed: 1.5 }, 'seed', 'invalid_type'],
  [C, { prompt: 'x', n: 2 }, 'n', 'invalid_value'],
  [C, { prompt: 'x', best_of: 3 }, 'best_of', 'invalid_value'],
  [C, { prompt: 'x', echo: true }, 'echo', 'invalid_value'],
  [C, { prompt: 'x', logprobs: 5 }, 'logprobs', 'invalid_value'],
  [C, { prompt: 'x', suffix: 'y' }, 'suffix', 'invalid_type'],
  [C, { prompt: 'x', presence_penalty: 0.5 }, 'presence_penalty', 'invalid_value'],
  [C, { prompt: 'x', stop: 5 }, 'stop', 'invalid_value'],
  [C, { prompt: 'x', stop: [''] }, 'stop.0', 'out_of_range'],
  [C, { prompt: 'x', stop: Array.from({ length: 33 }, (_, i) => `s${i}`) }, 'stop', 'invalid_value'],
  [C, { prompt: 'x', stream: 'yes' }, 'stream', 'invalid_type'],
  [C, { prompt: 'x', stream_options: { include_usage: 'x' } }, 'stream_options.include_usage', 'invalid_type'],
  [C, { prompt: 'x', max_tokens: 10, min_tokens: 20 }, 'min_tokens', 'out_of_range'],
  [C, { prompt: 'x', ignore_eos: 'true' }, 'ignore_eos', 'invalid_type'],
  [C, { prompt: 'x', max_tokens: 600 }, 'max_tokens', 'context_length_exceeded'],
  [C, { prompt: 'x'.repeat(600) }, 'prompt', 'context_length_exceeded'],
  [C, { prompt: 'x'.repeat(40_000) }, 'prompt', 'context_length_exceeded'],
  [CHAT, {}, 'messages', 'invalid_type'],
  [CHAT, { messages: [] }, 'messages', 'out_of_range'],
  [CHAT, { messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role', 'invalid_value'],
  [CHAT, { messages: [{ role: 'user', content: 5 }] }, 'messages.0.content', 'invalid_value'],
  [
    CHAT,
    { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }] },
    'messages.0.content',
    'invalid_value',
  ],
  [CHAT, { messages: user, tools: [{}] }, 'tools', 'out_of_range'],
  [CHAT, { messages: user, logprobs: true }, 'logprobs', 'invalid_value'],
  [CHAT, { messages: user, max_completion_tokens: 0 }, 'max_completion_tokens', 'out_of_range'],
  [CHAT, { messages: user, max_tokens: 10_000 }, 'max_tokens', 'context_length_exceeded'],
];

test('invalid fields get 400 with param and code', async () => {
  for (const [path, body, param, code] of cases) {
    const res = await fetch(`${srv.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const what = `${path} ${JSON.stringify(body).slice(0, 80)}`;
    assert.equal(res.status, 400, what);
    const e = (await res.json()) as { error: { param: string | null; code: string; type: string } };
    assert.ok(isApiError(e), what);
    assert.equal(e.error.type, 'invalid_request_error', what);
    assert.equal(e.error.param, param, what);
    assert.equal(e.error.code, code, what);
  }
});

test('bodies that are not one JSON object get 400 invalid_json', async () => {
  for (const body of ['', '{', '{"prompt": "x",}', '[]', 'null', '5', '"str"', '\u0000\u0001', '['.repeat(100_000)]) {
    const res = await fetch(`${srv.url}${C}`, { method: 'POST', body });
    assert.equal(res.status, 400, JSON.stringify(body.slice(0, 20)));
    const e = (await res.json()) as { error: { code: string } };
    assert.equal(e.error.code, 'invalid_json');
  }
});

test('unknown fields are ignored (as vLLM does), so newer clients keep working', async () => {
  const res = await fetch(`${srv.url}${C}`, {
    method: 'POST',
    body: JSON.stringify({ prompt: 'ok', max_tokens: 2, foo: { bar: 1 }, user: 'u' }),
  });
  assert.equal(res.status, 200);
  const b = (await res.json()) as { choices: { text: string }[] };
  assert.equal(b.choices[0]?.text, 'ok');
});

test('null means "not set" for optional fields', async () => {
  const res = await fetch(`${srv.url}${C}`, {
    method: 'POST',
    body: JSON.stringify({
      prompt: 'ok',
      max_tokens: null,
      temperature: null,
      stop: null,
      n: null,
      stream: null,
      seed: null,
    }),
  });
  assert.equal(res.status, 200);
});
