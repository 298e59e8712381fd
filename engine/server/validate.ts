// Request schemas of the OpenAI and TGI dialects, validated once at the boundary (zod). Unknown fields are
// ignored as vLLM does; fields we cannot honour with a non-default value are rejected, never silently dropped.
import { z } from 'zod';
import { ApiError } from './http-error.ts';

const MAX_STOP_STRINGS = 32;

const stopString = z.string().min(1, { error: 'stop strings must not be empty' }).max(256);
const tokenIds = z.array(z.int().min(0)).min(1, { error: 'a token-id prompt needs at least one id' });

/** Rejects a field unless it has the value that means "off" (null, absent, or the given neutral value). */
const neutral = <T extends string | number | boolean>(value: T, what: string) =>
  z.literal(value, { error: `${what} is not supported by this server; omit it or send ${JSON.stringify(value)}` });

/** Sampling and length fields shared by /v1/completions and /v1/chat/completions (vLLM extensions included). */
const openaiCommon = {
  model: z.string().nullish(),
  max_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.int().min(-1).nullish(),
  seed: z.int().nullish(),
  stop: z
    .union([stopString, z.array(stopString).max(MAX_STOP_STRINGS)], {
      error: `stop must be a string or an array of at most ${MAX_STOP_STRINGS} non-empty strings`,
    })
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .object({ include_usage: z.boolean().nullish(), continuous_usage_stats: z.boolean().nullish() })
    .nullish(),
  n: neutral(1, 'n > 1').nullish(),
  presence_penalty: neutral(0, 'presence_penalty').nullish(),
  frequency_penalty: neutral(0, 'frequency_penalty').nullish(),
  repetition_penalty: neutral(1, 'repetition_penalty').nullish(),
  ignore_eos: z.boolean().nullish(),
  min_tokens: z.int().min(0).nullish(),
  user: z.string().nullish(),
};

export const completionSchema = z.object({
  ...openaiCommon,
  prompt: z.union([z.string(), tokenIds, z.array(z.string()).length(1), z.array(tokenIds).length(1)], {
    error: 'prompt must be a string or an array of token ids (one prompt per request)',
  }),
  best_of: neutral(1, 'best_of > 1').nullish(),
  echo: neutral(false, 'echo').nullish(),
  logprobs: neutral(0, 'logprobs').nullish(),
  suffix: z.null({ error: 'suffix is not supported by this server' }).optional(),
});
export type CompletionBody = z.infer<typeof completionSchema>;

const textPart = z.object({
  type: z.literal('text', { error: 'only text content parts are supported' }),
  text: z.string(),
});
const chatMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: 'role must be one of system, developer, user, assistant',
  }),
  content: z.union([z.string(), z.array(textPart), z.null()], {
    error: 'content must be a string or an array of text parts',
  }),
});
export type ChatMessage = z.infer<typeof chatMessage>;

export const chatSchema = z.object({
  ...openaiCommon,
  messages: z.array(chatMessage).min(1, { error: 'messages must contain at least one message' }),
  max_completion_tokens: z.int().min(1).nullish(),
  logprobs: neutral(false, 'logprobs').nullish(),
  tools: z.array(z.unknown()).max(0, { error: 'tools are not supported by this server' }).nullish(),
});
export type ChatBody = z.infer<typeof chatSchema>;

export const tgiSchema = z.object({
  inputs: z.string().min(1, { error: 'inputs must not be empty' }),
  stream: z.boolean().nullish(),
  parameters: z
    .object({
      max_new_tokens: z.int().min(1).nullish(),
      temperature: z.number().gt(0).nullish(), // TGI: strictly positive; greedy is do_sample=false
      top_k: z.int().min(1).nullish(),
      top_p: z.number().gt(0).max(1).nullish(),
      do_sample: z.boolean().nullish(),
      seed: z.int().min(0).nullish(),
      stop: z.array(stopString).max(MAX_STOP_STRINGS).nullish(),
      details: z.boolean().nullish(),
      decoder_input_details: z.boolean().nullish(),
      return_full_text: z.boolean().nullish(),
      truncate: z.int().min(1).nullish(),
      ignore_eos: z.boolean().nullish(), // extensions for fixed-length load tests
      min_tokens: z.int().min(0).nullish(),
      repetition_penalty: neutral(1, 'repetition_penalty').nullish(),
      frequency_penalty: neutral(0, 'frequency_penalty').nullish(),
      typical_p: neutral(1, 'typical_p').nullish(),
      best_of: neutral(1, 'best_of > 1').nullish(),
      watermark: neutral(false, 'watermark').nullish(),
      top_n_tokens: neutral(0, 'top_n_tokens').nullish(),
      grammar: z.null({ error: 'grammar is not supported by this server' }).optional(),
      adapter_id: z.null({ error: 'adapter_id is not supported by this server' }).optional(),
    })
    .nullish(),
});
export type TgiBody = z.infer<typeof tgiSchema>;

function issueCode(code: string): string {
  if (code === 'too_small' || code === 'too_big') return 'out_of_range';
  if (code === 'invalid_type') return 'invalid_type';
  return 'invalid_value';
}

/** Validates `body`; a failure is a 400 naming the first offending field (OpenAI's `param`) and why. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const first = issues[0];
  const param = first && first.path.length > 0 ? first.path.join('.') : null;
  const message = issues
    .slice(0, 3)
    .map((i) => {
      const at = i.path.join('.');
      return at === '' || i.message.startsWith(at) ? i.message : `${at}: ${i.message}`;
    })
    .join('; ');
  throw new ApiError(400, message, { param, code: first ? issueCode(first.code) : 'invalid_value' });
}
