// End to end on the WebGPU engine (preset:tiny): what the server returns, streamed or not, in either dialect,
// equals what the engine generates for the same prompt when called directly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import type { Engine } from '../../../engine/runtime/types.ts';
import { gauge, type Running, start } from './helpers.ts';
import { engineFactory } from './real-engine.ts';

let srv: Running;
let engine: Engine;
const GREEDY = { temperature: 0, topK: 0, topP: 1 };

before(async () => {
  srv = await start(engineFactory);
  engine = srv.engine;
});
after(() => srv.stop());

async function direct(prompt: string, maxTokens: number): Promise<{ ids: number[]; text: string }> {
  const g = engine.generate({ promptIds: engine.tokenizer.encode(prompt, { bos: true }), maxTokens, sampling: GREEDY });
  for (;;) {
    const r = await g.next();
    if (r.done) return { ids: r.value.tokenIds, text: r.value.text };
  }
}

test('completions (JSON and SSE) and TGI streams equal a direct greedy generation', async () => {
  const prompt = 'Once upon a time';
  const want = await direct(prompt, 24);
  const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const r = await client.completions.create({ model: 'm', prompt, max_tokens: 24, temperature: 0 });
  assert.equal(r.choices[0]?.text, want.text);
  assert.equal(r.usage?.completion_tokens, want.ids.length);
  const s = await client.completions.create({ model: 'm', prompt, max_tokens: 24, temperature: 0, stream: true });
  let streamed = '';
  for await (const c of s) streamed += c.choices[0]?.text ?? '';
  assert.equal(streamed, want.text);

  const res = await fetch(`${srv.url}/generate_stream`, {
    method: 'POST',
    body: JSON.stringify({ inputs: prompt, parameters: { max_new_tokens: 24 } }),
  });
  const events: { token: { id: number }; generated_text: string | null }[] = [];
  const parser = createParser({ onEvent: (e) => events.push(JSON.parse(e.data)) });
  const dec = new TextDecoder();
  for await (const chunk of res.body!) parser.feed(dec.decode(chunk as Uint8Array, { stream: true }));
  assert.deepEqual(
    events.map((e) => e.token.id),
    want.ids,
  );
  assert.equal(events.at(-1)?.generated_text, want.text);
});

test('concurrent streams each get the tokens their prompt gets alone; KV blocks return to zero', async () => {
  const prompts = ['The cat', 'A dog ran', 'Hello there, friend', 'x'];
  const alone = [];
  for (const p of prompts) alone.push(await direct(p, 16));
  const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const texts = await Promise.all(
    prompts.map(async (prompt) => {
      const s = await client.completions.create({ model: 'm', prompt, max_tokens: 16, temperature: 0, stream: true });
      let t = '';
      for await (const c of s) t += c.choices[0]?.text ?? '';
      return t;
    }),
  );
  assert.deepEqual(
    texts,
    alone.map((a) => a.text),
  );
  assert.equal(await gauge(srv.url, 'bench_engine_kv_blocks_used'), 0);
});
