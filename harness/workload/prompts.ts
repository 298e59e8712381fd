// Request contents: synthetic prompts of controlled token length (exact with the target's tokenizer), or prompts
// from a JSONL file. Request i is a pure function of (workload, seed, i), so open-loop runs of unknown length and
// repeats see the same requests in the same order.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BenchError, badInput } from '../../engine/errors.ts';
import type { LengthDistribution, Workload } from '../scenario/schema.ts';
import { normal, type Rng, seededRng } from './rng.ts';
import type { PromptTokenizer } from './tokenizer.ts';

export interface RequestSpec {
  prompt: string;
  promptTokens: number; // as counted by the tokenizer (exact or approximate)
  outputTokens: number; // max_tokens; with ignoreEos the server generates exactly this many
  ignoreEos: boolean;
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
}

export type RequestSource = (i: number) => RequestSpec;

// Common short English words: BPE tokenizers give ~1 token per word on these, and they read as text in reports.
const WORDS = (
  'the of and to in is was that for on with as by at from it his her they this be are or an have not had but ' +
  'one all were we when there can which their said if do will each about how up out them then she many some so ' +
  'these would other into has more two like him see time could no make than first been its who now people my ' +
  'made over did down only way find use may water long little very after words called just where most know get ' +
  'through back much before go good new write our used me man too any day same right look think also around ' +
  'another came come work three word must because does part even place well such here take why things help put'
).split(' ');

export function sampleLength(d: LengthDistribution, rng: Rng, floor = 1): number {
  if (typeof d === 'number') return Math.max(floor, d);
  const x = Math.round(d.mean + d.std * normal(rng));
  return Math.max(floor, d.min ?? floor, Math.min(d.max ?? Number.POSITIVE_INFINITY, x));
}

/** Text the tokenizer counts as exactly `tokens` tokens (or as close as a non-additive tokenizer allows). */
export function promptOfLength(tokens: number, tok: PromptTokenizer, rng: Rng): string {
  // A per-request random head keeps server-side prefix caches from turning prompts into cache hits.
  const parts = [`${Math.floor(rng() * 1e9).toString(36)}:`];
  let len = parts[0]?.length ?? 0;
  const want = tokens * 8 + 16; // comfortably more characters than needed for any tokenizer
  while (len < want) {
    const w = WORDS[Math.floor(rng() * WORDS.length)] as string;
    parts.push(w);
    len += w.length + 1;
  }
  const text = parts.join(' ');
  // Largest prefix whose count does not exceed the target (counts grow with prefix length for these tokenizers).
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tok.count(text.slice(0, mid)) <= tokens) lo = mid;
    else hi = mid - 1;
  }
  let best = text.slice(0, lo);
  if (tok.count(best) !== tokens && tok.encode && tok.decode) {
    // BPE merges across the cut: cut in token space instead and take the decoded text.
    const bos = tok.count(''); // tokens the target adds to any prompt (BOS)
    const ids = tok.encode(text).slice(0, Math.max(0, tokens - bos));
    const viaIds = tok.decode(ids);
    if (Math.abs(tok.count(viaIds) - tokens) < Math.abs(tok.count(best) - tokens)) best = viaIds;
  }
  return best;
}

export function requestSource(workload: Workload, tok: PromptTokenizer, scenarioDir: string): RequestSource {
  const base = {
    ignoreEos: workload.ignoreEos,
    temperature: workload.temperature,
    ...(workload.topP !== undefined ? { topP: workload.topP } : {}),
    ...(workload.topK !== undefined ? { topK: workload.topK } : {}),
  };
  const minPrompt = tok.count('') + 1;
  if (workload.prompts === 'synthetic') {
    return (i) => {
      const rng = seededRng(mix(workload.seed, i));
      const promptTokens = sampleLength(workload.promptTokens, rng, minPrompt);
      const prompt = promptOfLength(promptTokens, tok, rng);
      const outputTokens = sampleLength(workload.outputTokens, rng);
      return { ...base, prompt, promptTokens: tok.count(prompt), outputTokens, seed: mix(workload.seed, i) };
    };
  }
  const lines = readJsonl(resolve(scenarioDir, workload.prompts.file));
  return (i) => {
    const line = lines[i % lines.length] as { prompt: string; outputTokens?: number };
    const rng = seededRng(mix(workload.seed, i));
    const outputTokens = line.outputTokens ?? sampleLength(workload.outputTokens, rng);
    return {
      ...base,
      prompt: line.prompt,
      promptTokens: tok.count(line.prompt),
      outputTokens,
      seed: mix(workload.seed, i),
    };
  };
}

function readJsonl(file: string): { prompt: string; outputTokens?: number }[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BenchError('FILE_NOT_FOUND', `cannot read prompt file ${file}: ${(e as Error).message}`);
  }
  const out: { prompt: string; outputTokens?: number }[] = [];
  for (const [n, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      throw badInput(
        `${file}:${n + 1}: not JSON (${(e as Error).message}); expected {"prompt": "...", "outputTokens": 64}`,
      );
    }
    const prompt = v.prompt ?? v.text;
    if (typeof prompt !== 'string' || prompt === '') {
      throw badInput(`${file}:${n + 1}: expected a non-empty "prompt" string`);
    }
    const o = v.outputTokens ?? v.max_tokens;
    if (o !== undefined && (typeof o !== 'number' || !Number.isInteger(o) || o < 1)) {
      throw badInput(`${file}:${n + 1}: "outputTokens" must be a positive integer`);
    }
    out.push(o === undefined ? { prompt } : { prompt, outputTokens: o });
  }
  if (out.length === 0) throw badInput(`${file}: no prompts (one JSON object per line)`);
  return out;
}

/** Per-request seed from the workload seed and the request index. */
function mix(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b)) >>> 0;
}
