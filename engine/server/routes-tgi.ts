// TGI-compatible routes: /generate, /generate_stream (one event per token, the final token carrying
// generated_text and details), the compat route POST / (dispatches on `stream`), and /info.
import type { GenerationRequest, GenerationResult } from '../runtime/types.ts';
import type { SamplingParams } from '../sampling/types.ts';
import { admit, CancelledError, cancelledApiError, drive, type ServerState } from './generation.ts';
import { sendJson, toApiError } from './http-error.ts';
import { checkMinTokens, encodeText, resolveMaxTokens } from './prompt.ts';
import type { RouteContext, Router } from './router.ts';
import { SseStream } from './sse.ts';
import { parseBody, type TgiBody, tgiSchema } from './validate.ts';

const TGI_DEFAULT_MAX_NEW_TOKENS = 100;
const MAX_STOP_SEQUENCES = 32;

interface TgiJob {
  req: GenerationRequest;
  seed: number | null;
  details: boolean;
  decoderInputDetails: boolean;
  prefix: string; // return_full_text: the input goes in front of generated_text
}

function buildJob(state: ServerState, b: TgiBody): TgiJob {
  const p = b.parameters ?? {};
  let promptIds = encodeText(state.engine, b.inputs, 'inputs');
  if (p.truncate != null && promptIds.length > p.truncate) promptIds = promptIds.slice(-p.truncate); // TGI keeps the tail
  const maxTokens = resolveMaxTokens(
    state.engine,
    promptIds.length,
    p.max_new_tokens,
    TGI_DEFAULT_MAX_NEW_TOKENS,
    'parameters.max_new_tokens',
  );
  // TGI samples when asked to, or when any warper is set; otherwise it decodes greedily.
  const doSample =
    p.do_sample === true ||
    (p.temperature != null && p.temperature !== 1) ||
    p.top_k != null ||
    (p.top_p != null && p.top_p < 1);
  // Like TGI, a sampled request without a seed gets one, reported in details so the run can be reproduced.
  const seed = p.seed ?? (doSample ? Math.floor(Math.random() * 2 ** 32) : null);
  const sampling: SamplingParams = doSample
    ? { temperature: p.temperature ?? 1, topK: p.top_k ?? 0, topP: p.top_p ?? 1 }
    : { temperature: 0, topK: 0, topP: 1 };
  if (seed !== null) sampling.seed = seed;
  const req: GenerationRequest = { promptIds, maxTokens, sampling };
  if (p.stop && p.stop.length > 0) req.stop = p.stop;
  if (p.ignore_eos) req.ignoreEos = true;
  const minTokens = checkMinTokens(p.min_tokens, maxTokens, 'parameters.min_tokens');
  if (minTokens !== undefined) req.minTokens = minTokens;
  return {
    req,
    seed,
    details: p.details === true,
    decoderInputDetails: p.decoder_input_details === true,
    prefix: p.return_full_text ? b.inputs : '',
  };
}

export function registerTgiRoutes(
  router: Router,
  state: ServerState,
  readJson: (rc: RouteContext) => Promise<unknown>,
  extra: { adapter: string | undefined; toggles: Record<string, unknown>; info: Record<string, unknown> },
): void {
  const tok = state.engine.tokenizer;
  const token = (id: number, prev: number | undefined) => ({
    id,
    text: tok.decode([id], prev),
    logprob: null, // the engine does not report log-probabilities
    special: id === tok.eos || id === tok.bos,
  });
  const tgiFinish = (r: GenerationResult, job: TgiJob): string => {
    if (r.finishReason === 'length') return 'length';
    const last = r.tokenIds[r.tokenIds.length - 1];
    // llama2.c models also stop on BOS (the start of the next story): an end-of-sequence token too.
    const special = last !== undefined && (last === tok.eos || last === tok.bos);
    return special && !job.req.ignoreEos ? 'eos_token' : 'stop_sequence';
  };

  const generate = async (rc: RouteContext, b: TgiBody): Promise<void> => {
    const job = buildJob(state, b);
    const slot = admit(state, rc.res);
    let r: GenerationResult;
    try {
      r = await drive(state, slot, job.req, async () => {});
    } catch (err) {
      if (err instanceof CancelledError) {
        if (err.reason === 'client') return;
        throw cancelledApiError(err);
      }
      throw err;
    }
    const body: Record<string, unknown> = { generated_text: job.prefix + r.text };
    if (job.details) {
      const ids = job.req.promptIds;
      body.details = {
        finish_reason: tgiFinish(r, job),
        generated_tokens: r.tokenIds.length,
        seed: job.seed,
        prefill: job.decoderInputDetails
          ? ids.map((id, i) => ({ id, text: tok.decode([id], ids[i - 1]), logprob: null }))
          : [],
        tokens: r.tokenIds.map((id, i) => token(id, i === 0 ? ids[ids.length - 1] : r.tokenIds[i - 1])),
        top_tokens: [],
        best_of_sequences: null,
      };
    }
    body.x_stats = r.stats;
    sendJson(rc.res, 200, body);
  };

  const stream = async (rc: RouteContext, b: TgiBody): Promise<void> => {
    const job = buildJob(state, b);
    const slot = admit(state, rc.res);
    const sse = new SseStream(rc.res, state.stallMs);
    sse.open();
    let index = 0;
    let prev = job.req.promptIds[job.req.promptIds.length - 1];
    let finalSent = false;
    const finalFields = (r: GenerationResult) => ({
      generated_text: job.prefix + r.text,
      details: {
        finish_reason: tgiFinish(r, job),
        generated_tokens: r.tokenIds.length,
        seed: job.seed,
        input_length: job.req.promptIds.length,
      },
      x_stats: r.stats,
    });
    try {
      const r = await drive(state, slot, job.req, async (ev, final) => {
        for (let i = 0; i < ev.tokenIds.length; i++) {
          const id = ev.tokenIds[i]!;
          const isFinal = final !== undefined && i === ev.tokenIds.length - 1;
          index++;
          const event = { index, token: token(id, prev), top_tokens: null, generated_text: null, details: null };
          prev = id;
          if (!(await sse.send(isFinal ? { ...event, ...finalFields(final) } : event))) {
            slot.cancel('client');
            return;
          }
          finalSent ||= isFinal;
        }
      });
      if (!finalSent) {
        // The engine returned later than right after its last token: close with an empty special token (no count).
        await sse.send({
          index: index + 1,
          token: { id: tok.eos, text: '', logprob: null, special: true },
          top_tokens: null,
          ...finalFields(r),
        });
      }
    } catch (err) {
      if (!(err instanceof CancelledError && err.reason === 'client')) {
        const e = err instanceof CancelledError ? cancelledApiError(err) : toApiError(err);
        await sse.send({ error: e.message, error_type: e.status === 503 ? 'overloaded' : 'generation' }); // TGI's shape
      }
    } finally {
      sse.end();
    }
  };

  router.add('POST', '/generate', async (rc) => generate(rc, parseBody(tgiSchema, await readJson(rc))));
  router.add('POST', '/generate_stream', async (rc) => stream(rc, parseBody(tgiSchema, await readJson(rc))));
  router.add('POST', '/', async (rc) => {
    const b = parseBody(tgiSchema, await readJson(rc));
    await (b.stream ? stream(rc, b) : generate(rc, b));
  });

  router.add('GET', '/info', ({ res }) => {
    const ctx = state.engine.config.maxSeqLen;
    sendJson(res, 200, {
      model_id: state.modelId,
      model_sha: null,
      model_dtype: typeof extra.toggles.precision === 'string' ? extra.toggles.precision : 'f32',
      model_device_type: 'webgpu',
      model_pipeline_tag: 'text-generation',
      max_concurrent_requests: state.maxQueue,
      max_best_of: 1,
      max_stop_sequences: MAX_STOP_SEQUENCES,
      max_input_tokens: ctx - 1,
      max_input_length: ctx - 1, // the field's name before TGI 2.0
      max_total_tokens: ctx,
      max_client_batch_size: 1,
      validation_workers: 1,
      router: 'llm-bench',
      version: '0.1.0',
      sha: null,
      docker_label: null,
      // Extensions: what the engine runs on and with, so results can be labelled from the server alone.
      adapter: extra.adapter ?? null,
      toggles: extra.toggles,
      model: state.engine.info,
      synthetic: state.engine.info.synthetic,
      config: state.engine.config,
      ...extra.info,
    });
  });
}
