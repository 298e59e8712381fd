// OpenAI-compatible routes: /v1/completions, /v1/chat/completions (JSON and SSE in OpenAI's chunk shapes),
// /v1/models. Responses carry `x_stats` (the engine's RequestStats: queue/prefill/decode times, speculative
// proposals/accepted) as an extension field that OpenAI clients ignore.
import { randomUUID } from 'node:crypto';
import type { GenerationRequest, GenerationResult, RequestStats } from '../runtime/types.ts';
import type { SamplingParams } from '../sampling/types.ts';
import type { ChatTemplate } from './chat-template.ts';
import { admit, CancelledError, cancelledApiError, drive, type ServerState, type Slot } from './generation.ts';
import { sendJson, toApiError } from './http-error.ts';
import { checkMinTokens, checkTokenIds, encodeText, resolveMaxTokens } from './prompt.ts';
import type { RouteContext, Router } from './router.ts';
import { SseStream } from './sse.ts';
import { type ChatBody, type CompletionBody, chatSchema, completionSchema, parseBody } from './validate.ts';

type Common = CompletionBody | ChatBody;
type Kind = 'completion' | 'chat';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const usage = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

function sampling(b: Common): SamplingParams {
  const s: SamplingParams = {
    temperature: b.temperature ?? 1,
    topK: b.top_k != null && b.top_k > 0 ? b.top_k : 0, // vLLM: -1 and 0 both mean "off"
    topP: b.top_p ?? 1,
  };
  if (b.seed != null) s.seed = b.seed;
  return s;
}

function buildRequest(
  state: ServerState,
  b: Common,
  promptIds: number[],
  requestedMax: number | null | undefined,
  fallbackMax: number | undefined,
  extraStop: readonly string[],
): GenerationRequest {
  const maxParam =
    'max_completion_tokens' in b && b.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  const maxTokens = resolveMaxTokens(state.engine, promptIds.length, requestedMax, fallbackMax, maxParam);
  const stop = [...(typeof b.stop === 'string' ? [b.stop] : (b.stop ?? [])), ...extraStop];
  const req: GenerationRequest = { promptIds, maxTokens, sampling: sampling(b) };
  if (stop.length > 0) req.stop = stop;
  if (b.ignore_eos) req.ignoreEos = true;
  const minTokens = checkMinTokens(b.min_tokens, maxTokens, 'min_tokens');
  if (minTokens !== undefined) req.minTokens = minTokens;
  return req;
}

const finishReason = (r: GenerationResult): 'stop' | 'length' => (r.finishReason === 'length' ? 'length' : 'stop');

export function registerOpenAiRoutes(
  router: Router,
  state: ServerState,
  template: ChatTemplate,
  readJson: (rc: RouteContext) => Promise<unknown>,
): void {
  router.add('GET', '/v1/models', ({ res }) => {
    sendJson(res, 200, {
      object: 'list',
      data: [
        {
          id: state.modelId,
          object: 'model',
          created: 0,
          owned_by: 'llm-bench',
          max_model_len: state.engine.config.maxSeqLen,
        },
      ],
    });
  });

  router.add('POST', '/v1/completions', async (rc) => {
    const b = parseBody(completionSchema, await readJson(rc));
    const prompt =
      Array.isArray(b.prompt) && (typeof b.prompt[0] === 'string' || Array.isArray(b.prompt[0]))
        ? b.prompt[0]!
        : b.prompt;
    const ids =
      typeof prompt === 'string'
        ? encodeText(state.engine, prompt, 'prompt')
        : checkTokenIds(state.engine, prompt as number[], 'prompt');
    const req = buildRequest(state, b, ids, b.max_tokens, 16, []); // 16: OpenAI's default for completions
    await serve(state, rc, 'completion', b, req);
  });

  router.add('POST', '/v1/chat/completions', async (rc) => {
    const b = parseBody(chatSchema, await readJson(rc));
    const ids = template.render(b.messages);
    const req = buildRequest(state, b, ids, b.max_completion_tokens ?? b.max_tokens, undefined, template.stop);
    await serve(state, rc, 'chat', b, req);
  });
}

async function serve(
  state: ServerState,
  rc: RouteContext,
  kind: Kind,
  b: Common,
  req: GenerationRequest,
): Promise<void> {
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  const head = {
    id,
    object: kind === 'chat' ? 'chat.completion' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: state.modelId,
  };
  const slot = admit(state, rc.res);
  if (!b.stream) {
    let result: GenerationResult;
    try {
      result = await drive(state, slot, req, async () => {});
    } catch (err) {
      if (err instanceof CancelledError) {
        if (err.reason === 'client') return; // nobody is listening
        throw cancelledApiError(err);
      }
      throw err;
    }
    const choice =
      kind === 'chat'
        ? {
            index: 0,
            message: { role: 'assistant', content: result.text },
            logprobs: null,
            finish_reason: finishReason(result),
          }
        : { index: 0, text: result.text, logprobs: null, finish_reason: finishReason(result) };
    sendJson(rc.res, 200, {
      ...head,
      choices: [choice],
      usage: usage(req.promptIds.length, result.tokenIds.length),
      x_stats: result.stats,
    });
    return;
  }
  await stream(state, rc, kind, b, req, slot, {
    ...head,
    object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
  });
}

async function stream(
  state: ServerState,
  rc: RouteContext,
  kind: Kind,
  b: Common,
  req: GenerationRequest,
  slot: Slot,
  head: { id: string; object: string; created: number; model: string },
): Promise<void> {
  const includeUsage = b.stream_options?.include_usage === true;
  const continuous = b.stream_options?.continuous_usage_stats === true;
  const prompt = req.promptIds.length;
  let generated = 0;
  /** text: new text; null: the closing chunk (chat: empty delta); 'role': chat's opening chunk. */
  const chunk = (
    text: string | null | { role: true },
    finish: 'stop' | 'length' | null,
    extra: { x_stats?: RequestStats } = {},
  ) => {
    const delta =
      text === null ? {} : typeof text === 'string' ? { content: text } : { role: 'assistant', content: '' };
    const choice =
      kind === 'chat'
        ? { index: 0, delta, logprobs: null, finish_reason: finish }
        : { index: 0, text: typeof text === 'string' ? text : '', logprobs: null, finish_reason: finish };
    // With include_usage, OpenAI sends `usage: null` on every chunk but the last; vLLM's continuous stats fill it.
    const u = continuous ? usage(prompt, generated) : includeUsage ? null : undefined;
    return { ...head, choices: [choice], ...(u === undefined ? {} : { usage: u }), ...extra };
  };
  const sse = new SseStream(rc.res, state.stallMs);
  sse.open();
  if (kind === 'chat') await sse.send(chunk({ role: true }, null)); // OpenAI opens every chat stream with the role
  try {
    const result = await drive(state, slot, req, async (ev) => {
      generated += ev.tokenIds.length;
      // Tokens whose text is withheld (partial UTF-8, possible stop string) produce no chunk; usage counts them.
      if (ev.text.length > 0 && !(await sse.send(chunk(ev.text, null)))) slot.cancel('client');
    });
    generated = result.tokenIds.length;
    await sse.send(chunk(null, finishReason(result), { x_stats: result.stats }));
    if (includeUsage) await sse.send({ ...head, choices: [], usage: usage(prompt, generated) });
    await sse.send('[DONE]');
  } catch (err) {
    if (!(err instanceof CancelledError && err.reason === 'client')) {
      const e = err instanceof CancelledError ? cancelledApiError(err) : toApiError(err);
      // OpenAI's in-stream error shape; the openai client raises it as an APIError.
      await sse.send(e.body());
      await sse.send('[DONE]');
    }
  } finally {
    sse.end();
  }
}
