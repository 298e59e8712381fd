// The TGI dialect: /generate, /generate_stream read with a plain EventSource parser (eventsource-parser), the
// compat route, /info. Expected texts follow from the prompt: the echo engine repeats it, then emits EOS.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createParser } from 'eventsource-parser';
import { EchoEngine, RecordingEngine } from './echo-engine.ts';
import { type Running, start } from './helpers.ts';

let srv: Running;
let rec: RecordingEngine;

before(async () => {
  rec = new RecordingEngine();
  srv = await start(async () => rec, {
    modelName: 'echo',
    adapter: 'lavapipe',
    toggles: { batch: 'continuous', precision: 'f16' },
  });
});
after(() => srv.stop());

const BOS = 1;
const EOS = 2;
const ids = (s: string): number[] => [...Buffer.from(s)].map((b) => b + 3);

interface TokenEvent {
  index: number;
  token: { id: number; text: string; logprob: number | null; special: boolean };
  generated_text: string | null;
  details: { finish_reason: string; generated_tokens: number; seed: number | null; input_length: number } | null;
}

async function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function streamEvents(url: string, path: string, body: unknown): Promise<TokenEvent[]> {
  const res = await post(url, path, body);
  assert.equal(res.status, 200);
  const events: TokenEvent[] = [];
  const parser = createParser({ onEvent: (e) => events.push(JSON.parse(e.data) as TokenEvent) });
  const dec = new TextDecoder();
  for await (const chunk of res.body!) parser.feed(dec.decode(chunk as Uint8Array, { stream: true }));
  return events;
}

test('/generate with details: text, finish reason, tokens, greedy without seed', async () => {
  const res = await post(srv.url, '/generate', { inputs: 'abc', parameters: { max_new_tokens: 2, details: true } });
  assert.equal(res.status, 200);
  const b = (await res.json()) as { generated_text: string; details: Record<string, unknown> };
  assert.equal(b.generated_text, 'ab');
  assert.equal(b.details.finish_reason, 'length');
  assert.equal(b.details.generated_tokens, 2);
  assert.equal(b.details.seed, null);
  assert.deepEqual(b.details.tokens, [
    { id: ids('a')[0], text: 'a', logprob: null, special: false },
    { id: ids('b')[0], text: 'b', logprob: null, special: false },
  ]);
  assert.deepEqual(rec.requests.at(-1)?.sampling, { temperature: 0, topK: 0, topP: 1 });
});

test('/generate without details returns only generated_text (and x_stats)', async () => {
  const b = (await (await post(srv.url, '/generate', { inputs: 'hey' })).json()) as Record<string, unknown>;
  assert.equal(b.generated_text, 'hey');
  assert.equal(b.details, undefined);
  assert.equal(rec.requests.at(-1)?.maxTokens, 100, "TGI's default max_new_tokens");
});

test('/generate_stream: one event per token, the last carries generated_text and details', async () => {
  const events = await streamEvents(srv.url, '/generate_stream', { inputs: 'abc', parameters: { max_new_tokens: 10 } });
  assert.deepEqual(
    events.map((e) => e.token.id),
    [...ids('abc'), EOS],
  );
  assert.deepEqual(
    events.map((e) => e.index),
    [1, 2, 3, 4],
  );
  for (const e of events.slice(0, -1)) {
    assert.equal(e.generated_text, null);
    assert.equal(e.details, null);
    assert.equal(e.token.special, false);
  }
  const last = events.at(-1)!;
  assert.equal(last.token.special, true);
  assert.equal(last.generated_text, 'abc');
  assert.deepEqual(last.details, { finish_reason: 'eos_token', generated_tokens: 4, seed: null, input_length: 4 });
});

test('stop sequences and max_new_tokens give stop_sequence and length', async () => {
  const stop = await streamEvents(srv.url, '/generate_stream', { inputs: 'hello world', parameters: { stop: [' w'] } });
  assert.equal(stop.at(-1)?.generated_text, 'hello');
  assert.equal(stop.at(-1)?.details?.finish_reason, 'stop_sequence');
  const len = await streamEvents(srv.url, '/generate_stream', { inputs: 'hello', parameters: { max_new_tokens: 3 } });
  assert.equal(len.length, 3);
  assert.equal(len.at(-1)?.generated_text, 'hel');
  assert.equal(len.at(-1)?.details?.finish_reason, 'length');
});

test('several tokens per engine event still stream as one TGI event per token', async () => {
  const multi = await start(async () => new EchoEngine({ tokensPerEvent: 3 }));
  try {
    const events = await streamEvents(multi.url, '/generate_stream', {
      inputs: 'abcde',
      parameters: { max_new_tokens: 5 },
    });
    assert.deepEqual(
      events.map((e) => e.token.text),
      ['a', 'b', 'c', 'd', 'e'],
    );
    assert.equal(events.filter((e) => e.generated_text !== null).length, 1);
    assert.equal(events.at(-1)?.details?.generated_tokens, 5);
  } finally {
    await multi.stop();
  }
});

test('the compat route POST / dispatches on stream', async () => {
  const b = (await (await post(srv.url, '/', { inputs: 'xy', parameters: { max_new_tokens: 2 } })).json()) as Record<
    string,
    unknown
  >;
  assert.equal(b.generated_text, 'xy');
  const events = await streamEvents(srv.url, '/', { inputs: 'xy', stream: true, parameters: { max_new_tokens: 2 } });
  assert.equal(events.length, 2);
});

test('sampling: do_sample or any warper samples; a seed is drawn and reported when none is given', async () => {
  const r = (await (
    await post(srv.url, '/generate', { inputs: 'q', parameters: { do_sample: true, max_new_tokens: 1, details: true } })
  ).json()) as { details: { seed: number } };
  const req = rec.requests.at(-1)!;
  assert.equal(req.sampling.temperature, 1);
  assert.ok(Number.isInteger(r.details.seed));
  assert.equal(req.sampling.seed, r.details.seed);
  await post(srv.url, '/generate', {
    inputs: 'q',
    parameters: { temperature: 0.7, top_k: 5, top_p: 0.8, seed: 3, max_new_tokens: 1 },
  });
  assert.deepEqual(rec.requests.at(-1)?.sampling, { temperature: 0.7, topK: 5, topP: 0.8, seed: 3 });
  await post(srv.url, '/generate', {
    inputs: 'q',
    parameters: { seed: 3, max_new_tokens: 1, ignore_eos: true, min_tokens: 1 },
  });
  assert.deepEqual(rec.requests.at(-1), {
    promptIds: [BOS, ...ids('q')],
    maxTokens: 1,
    sampling: { temperature: 0, topK: 0, topP: 1, seed: 3 },
    ignoreEos: true,
    minTokens: 1,
  });
});

test('truncate keeps the tail of the input; return_full_text prepends it; decoder_input_details lists the prefill', async () => {
  const b = (await (
    await post(srv.url, '/generate', {
      inputs: 'abcdef',
      parameters: {
        truncate: 3,
        return_full_text: true,
        details: true,
        decoder_input_details: true,
        max_new_tokens: 3,
      },
    })
  ).json()) as { generated_text: string; details: { prefill: { id: number; text: string }[] } };
  assert.deepEqual(rec.requests.at(-1)?.promptIds, ids('def'));
  assert.equal(b.generated_text, 'abcdefdef');
  assert.deepEqual(
    b.details.prefill.map((t) => t.text),
    ['d', 'e', 'f'],
  );
});

test('TGI validation errors are 400 in the OpenAI error shape', async () => {
  for (const body of [
    { inputs: '' },
    { parameters: {} },
    { inputs: 'x', parameters: { temperature: 0 } },
    { inputs: 'x', parameters: { top_k: 0 } },
    { inputs: 'x', parameters: { max_new_tokens: 100000 } },
    { inputs: 'x', parameters: { repetition_penalty: 1.2 } },
  ]) {
    const res = await post(srv.url, '/generate', body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const e = (await res.json()) as { error: { message: string; type: string } };
    assert.equal(e.error.type, 'invalid_request_error');
  }
});

test('/info reports limits and the extension fields adapter and toggles', async () => {
  const info = (await (await fetch(`${srv.url}/info`)).json()) as Record<string, unknown>;
  assert.equal(info.model_id, 'echo');
  assert.equal(info.max_total_tokens, 512);
  assert.equal(info.max_input_tokens, 511);
  assert.equal(info.adapter, 'lavapipe');
  assert.deepEqual(info.toggles, { batch: 'continuous', precision: 'f16' });
  assert.equal(info.model_dtype, 'f16');
  assert.equal(info.max_concurrent_requests, 64);
});
