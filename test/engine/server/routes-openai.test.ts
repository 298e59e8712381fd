// The OpenAI dialect through the official `openai` client (streaming and not) over loopback. The echo engine
// answers with its prompt's bytes, so every expected text below follows from the prompt alone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { EchoEngine, RecordingEngine } from './echo-engine.ts';
import { type Running, start } from './helpers.ts';

let srv: Running;
let rec: RecordingEngine;
let client: OpenAI;

before(async () => {
  rec = new RecordingEngine();
  srv = await start(async () => rec, { modelName: 'echo' });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => srv.stop());

const BOS = 1;
const ids = (s: string): number[] => [...Buffer.from(s)].map((b) => b + 3);

test('non-streaming completion: text, finish reason, usage and x_stats', async () => {
  const r = await client.completions.create({ model: 'echo', prompt: 'hello world', max_tokens: 5 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, 'echo');
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0]?.text, 'hello');
  assert.equal(r.choices[0]?.finish_reason, 'length');
  assert.deepEqual(r.usage, { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
  const stats = (r as unknown as { x_stats: { generatedTokens: number; promptTokens: number } }).x_stats;
  assert.equal(stats.generatedTokens, 5);
  assert.equal(stats.promptTokens, 12);
});

test('streaming completion with include_usage: text chunks, finish chunk, usage chunk with empty choices', async () => {
  const stream = await client.completions.create({
    model: 'echo',
    prompt: 'hello world',
    max_tokens: 50,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  const finishes: (string | null)[] = [];
  const usages: unknown[] = [];
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.text;
      finishes.push(c.finish_reason);
    }
    usages.push(chunk.usage);
  }
  assert.equal(text, 'hello world');
  assert.equal(finishes.at(-1), 'stop'); // EOS after the echo
  assert.ok(finishes.slice(0, -1).every((f) => f === null));
  // 11 text chunks + finish chunk carry usage null; the final chunk carries it: 11 chars + EOS generated.
  assert.deepEqual(usages.at(-1), { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24 });
  assert.ok(usages.slice(0, -1).every((u) => u === null));
});

test('the raw stream ends with data: [DONE]', async () => {
  const res = await fetch(`${srv.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'abc', max_tokens: 2, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const body = await res.text();
  assert.ok(body.endsWith('data: [DONE]\n\n'), body.slice(-40));
  assert.ok(!body.includes('"usage"'), 'no usage field without stream_options.include_usage');
});

test('non-streaming chat uses the plain template and answers as assistant', async () => {
  const r = await client.chat.completions.create({
    model: 'echo',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0]?.message.role, 'assistant');
  // The echo reaches "\nuser:", the plain template's stop string, so the answer ends right before it.
  assert.equal(r.choices[0]?.message.content, 'system: be brief');
  assert.equal(r.choices[0]?.finish_reason, 'stop');
  const expectedPrompt = 'system: be brief\nuser: hi\nassistant:';
  assert.deepEqual(rec.requests.at(-1)?.promptIds, [BOS, ...ids(expectedPrompt)]);
  assert.deepEqual(rec.requests.at(-1)?.stop, ['\nuser:'], "the plain template's stop string is added");
  assert.equal(r.usage?.prompt_tokens, 1 + expectedPrompt.length);
});

test('streaming chat: role chunk first, content deltas, empty delta with finish_reason last', async () => {
  const stream = await client.chat.completions.create({
    model: 'echo',
    messages: [{ role: 'user', content: 'yo' }],
    max_tokens: 4,
    stream: true,
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0]?.object, 'chat.completion.chunk');
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
  const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.equal(content, 'user');
  assert.deepEqual(chunks.at(-1)?.choices[0]?.delta, {});
  assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'length');
  assert.ok(new Set(chunks.map((c) => c.id)).size === 1, 'one id for the whole stream');
});

test('stop strings end the text before the stop string, also when streamed', async () => {
  const r = await client.completions.create({ model: 'echo', prompt: 'hello world', max_tokens: 50, stop: [' wor'] });
  assert.equal(r.choices[0]?.text, 'hello');
  assert.equal(r.choices[0]?.finish_reason, 'stop');
  const s = await client.completions.create({
    model: 'echo',
    prompt: 'hello world',
    max_tokens: 50,
    stop: ' wor',
    stream: true,
  });
  let text = '';
  for await (const c of s) text += c.choices[0]?.text ?? '';
  assert.equal(text, 'hello');
});

test('ignore_eos and min_tokens (vLLM extensions) give fixed output lengths', async () => {
  const body = {
    model: 'echo',
    prompt: 'ab',
    max_tokens: 7,
    ignore_eos: true,
  } as OpenAI.CompletionCreateParamsNonStreaming;
  const r = await client.completions.create(body);
  assert.equal(r.choices[0]?.text, 'abababa');
  assert.equal(r.usage?.completion_tokens, 7);
  const m = await client.completions.create({
    model: 'echo',
    prompt: 'ab',
    max_tokens: 10,
    min_tokens: 5,
  } as OpenAI.CompletionCreateParamsNonStreaming);
  assert.equal(m.choices[0]?.text, 'ababa'); // EOS suppressed until 5 tokens, then allowed
  assert.equal(m.usage?.completion_tokens, 6);
});

test('token-id prompts are used as given', async () => {
  const r = await client.completions.create({ model: 'echo', prompt: [BOS, ...ids('hi')], max_tokens: 2 });
  assert.equal(r.choices[0]?.text, 'hi');
  assert.deepEqual(rec.requests.at(-1)?.promptIds, [BOS, ...ids('hi')]);
  await client.completions.create({ model: 'echo', prompt: [ids('x')], max_tokens: 1 });
  assert.deepEqual(rec.requests.at(-1)?.promptIds, ids('x'), 'a one-element batch of id arrays');
});

test('sampling parameters map onto the engine request', async () => {
  await client.completions.create({
    model: 'echo',
    prompt: 'q',
    max_tokens: 3,
    temperature: 0.5,
    top_p: 0.9,
    seed: 7,
    stop: 'zz',
    top_k: 40,
  } as OpenAI.CompletionCreateParamsNonStreaming);
  assert.deepEqual(rec.requests.at(-1), {
    promptIds: [BOS, ...ids('q')],
    maxTokens: 3,
    sampling: { temperature: 0.5, topK: 40, topP: 0.9, seed: 7 },
    stop: ['zz'],
  });
  await client.completions.create({
    model: 'echo',
    prompt: 'q',
    top_k: -1,
  } as OpenAI.CompletionCreateParamsNonStreaming);
  assert.deepEqual(rec.requests.at(-1)?.sampling, { temperature: 1, topK: 0, topP: 1 }, 'defaults; top_k -1 is off');
  assert.equal(rec.requests.at(-1)?.maxTokens, 16, "OpenAI's completions default");
  await client.chat.completions.create({
    model: 'echo',
    messages: [{ role: 'user', content: 'q' }],
    max_completion_tokens: 9,
  });
  assert.equal(rec.requests.at(-1)?.maxTokens, 9);
});

test('chat without a token limit may fill the context', async () => {
  await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'q' }] });
  const req = rec.requests.at(-1)!;
  assert.equal(req.promptIds.length + req.maxTokens, 512);
});

test('continuous_usage_stats puts running usage on every chunk', async () => {
  const stream = (await client.completions.create({
    model: 'echo',
    prompt: 'abcd',
    max_tokens: 3,
    stream: true,
    stream_options: { continuous_usage_stats: true },
  } as unknown as OpenAI.CompletionCreateParamsStreaming)) as AsyncIterable<OpenAI.Completion>;
  const completed: number[] = [];
  for await (const c of stream) completed.push(c.usage?.completion_tokens ?? -1);
  assert.deepEqual(completed, [1, 2, 3, 3]);
});

test('/v1/models lists the served model with its context length', async () => {
  const list = await client.models.list();
  const models = [];
  for await (const m of list) models.push(m);
  assert.equal(models.length, 1);
  assert.equal(models[0]?.id, 'echo');
  assert.equal((models[0] as unknown as { max_model_len: number }).max_model_len, 512);
});

test('the openai client raises typed errors for 4xx answers', async () => {
  await assert.rejects(
    client.completions.create({ model: 'echo', prompt: 'x', temperature: -1 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.status === 400 && /temperature/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'x' }], n: 2 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'n',
  );
});

test('several tokens per engine event (speculative decoding) stream as one chunk each, usage counts tokens', async () => {
  const multi = await start(async () => new EchoEngine({ tokensPerEvent: 3 }));
  try {
    const c = new OpenAI({ baseURL: `${multi.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const s = await c.completions.create({
      model: 'x',
      prompt: 'abcdefg',
      max_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const ch of s) {
      if (ch.choices[0]?.text) texts.push(ch.choices[0].text);
      usage = ch.usage ?? usage;
    }
    assert.deepEqual(texts, ['abc', 'def', 'g']);
    assert.equal(usage?.completion_tokens, 7);
  } finally {
    await multi.stop();
  }
});
