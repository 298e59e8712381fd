// Hugging Face model folders: config.json (LlamaForCausalLM and close relatives) -> ModelConfig, weights from
// model.safetensors or shards listed in model.safetensors.index.json, tokenizer.json (+ tokenizer_config.json),
// generation_config.json defaults. Also single .safetensors files that carry their config in __metadata__.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BenchError } from '../errors.ts';
import { type ModelConfig, tensorShapes } from '../model/config.ts';
import type { LoadedModel, TensorSource } from '../model/weights.ts';
import { loadHfTokenizer } from '../tokenizer/hf-json.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { canonicalFromHf, hfFromCanonical } from './names.ts';
import { assertDecodableDtype, readSafetensors, readSafetensorsF32, type SafetensorsFile } from './safetensors.ts';

/** Sampling defaults a model folder recommends (generation_config.json). */
export interface GenerationDefaults {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  eosTokenIds?: number[];
}

export interface HfLoadedModel extends LoadedModel {
  generationDefaults: GenerationDefaults;
  chatTemplate?: string;
}

const ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM'];

function bad(path: string, field: string, cause: string): never {
  throw new BenchError('BAD_CHECKPOINT', `${path}: ${field}: ${cause}`);
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BenchError('FILE_NOT_FOUND', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const v = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'top level', 'not a JSON object');
    return v;
  } catch (e) {
    if (e instanceof BenchError) throw e;
    return bad(path, 'JSON', `${(e as Error).message}; the file is corrupt or truncated`);
  }
}

/** config.json -> ModelConfig; anything the engine's Llama block cannot run is an error naming the field. */
export function hfConfig(c: Record<string, unknown>, path: string): ModelConfig {
  const arch = (c.architectures as string[] | undefined)?.[0];
  if (arch !== undefined && !ARCHITECTURES.includes(arch)) {
    throw new BenchError(
      'UNSUPPORTED',
      `${path}: architectures: ${arch} is not supported (supported: ${ARCHITECTURES.join(', ')})`,
    );
  }
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      bad(path, key, `expected a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const unsupported = (key: string, cause: string): never => {
    throw new BenchError('UNSUPPORTED', `${path}: ${key}: ${cause}`);
  };
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') unsupported('hidden_act', `"${String(act)}" (only silu / SwiGLU is supported)`);
  if (c.attention_bias === true) unsupported('attention_bias', 'attention biases are not supported');
  if (c.mlp_bias === true) unsupported('mlp_bias', 'MLP biases are not supported');
  const scaling = c.rope_scaling as { type?: string; rope_type?: string } | null | undefined;
  const scalingType = scaling?.rope_type ?? scaling?.type;
  if (scaling && scalingType !== 'default')
    unsupported('rope_scaling', `"${scalingType}" RoPE scaling is not implemented by the engine yet`);
  const dim = num('hidden_size');
  const nHeads = num('num_attention_heads');
  let maxSeqLen = num('max_position_embeddings', 2048);
  // Mistral's sliding window: within it attention is exact, so cap the context there instead of silently diverging.
  if (typeof c.sliding_window === 'number' && c.sliding_window < maxSeqLen) maxSeqLen = c.sliding_window;
  return {
    dim,
    hiddenDim: num('intermediate_size'),
    nLayers: num('num_hidden_layers'),
    nHeads,
    nKvHeads: num('num_key_value_heads', nHeads),
    headDim: num('head_dim', dim / nHeads),
    vocabSize: num('vocab_size'),
    maxSeqLen,
    normEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeLayout: 'half',
    tiedClassifier: c.tie_word_embeddings === true,
  };
}

function generationDefaults(dir: string): GenerationDefaults {
  const p = join(dir, 'generation_config.json');
  if (!existsSync(p)) return {};
  const g = readJson(p);
  const out: GenerationDefaults = {};
  if (g.do_sample === false) out.temperature = 0;
  else if (typeof g.temperature === 'number') out.temperature = g.temperature;
  if (typeof g.top_p === 'number') out.topP = g.top_p;
  if (typeof g.top_k === 'number') out.topK = g.top_k;
  if (typeof g.max_new_tokens === 'number') out.maxTokens = g.max_new_tokens;
  const eos = g.eos_token_id;
  if (typeof eos === 'number') out.eosTokenIds = [eos];
  else if (Array.isArray(eos)) out.eosTokenIds = eos.filter((x): x is number => typeof x === 'number');
  return out;
}

/** The safetensors files of a folder: the index's shards, else model.safetensors, else every *.safetensors. */
function weightFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = readJson(index).weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object') bad(index, 'weight_map', 'missing; the index is corrupt');
    const shards = [...new Set(Object.values(map))].map((f) => join(dir, f));
    for (const s of shards)
      if (!existsSync(s)) bad(index, 'weight_map', `lists ${basename(s)}, which is missing from ${dir}`);
    return shards;
  }
  if (existsSync(join(dir, 'model.safetensors'))) return [join(dir, 'model.safetensors')];
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  if (!all.length) bad(dir, 'weights', 'no model.safetensors, no index and no *.safetensors files');
  return all.map((f) => join(dir, f));
}

interface Located {
  file: SafetensorsFile;
  name: string;
}

/**
 * Builds the canonical tensor table from safetensors files. Tied checkpoints may store only one of the embedding
 * and lm_head (saved once under either name); a `__metadata__` entry "name": "other name" also aliases a tensor.
 */
function locateTensors(files: SafetensorsFile[], config: ModelConfig, where: string): Map<string, Located> {
  const byCanonical = new Map<string, Located>();
  const aliases = new Map<string, string>();
  for (const file of files) {
    for (const [k, v] of Object.entries(file.metadata))
      if (canonicalFromHf(k) && typeof v === 'string') aliases.set(k, v);
    for (const name of file.tensors.keys()) {
      const canonical = canonicalFromHf(name);
      if (canonical) byCanonical.set(canonical, { file, name });
      else if (!/rotary_emb\.inv_freq$/.test(name)) {
        throw new BenchError('UNSUPPORTED', `${file.path}: tensor ${name} has no place in the engine's Llama block`);
      }
    }
  }
  for (const [alias, target] of aliases) {
    const src = byCanonical.get(canonicalFromHf(target) ?? '');
    const canonical = canonicalFromHf(alias)!;
    if (src && !byCanonical.has(canonical)) byCanonical.set(canonical, src);
  }
  const embed = byCanonical.get('tok_embeddings');
  const head = byCanonical.get('output');
  if (!embed && head) {
    byCanonical.set('tok_embeddings', head); // stored once, as lm_head
    config.tiedClassifier = true;
  }
  if (embed && !head) config.tiedClassifier = true;
  if (config.tiedClassifier) byCanonical.delete('output');
  for (const [canonical, shape] of tensorShapes(config)) {
    const loc = byCanonical.get(canonical);
    if (!loc) bad(where, `tensor ${hfFromCanonical(canonical)}`, 'missing from the safetensors files');
    const t = loc.file.tensors.get(loc.name)!;
    if (t.shape.join(',') !== shape.join(',')) {
      bad(loc.file.path, `tensor ${loc.name}`, `shape [${t.shape}] does not match config.json's [${shape}]`);
    }
    assertDecodableDtype(loc.file, t);
  }
  return byCanonical;
}

function model(
  config: ModelConfig,
  files: SafetensorsFile[],
  where: string,
  tokenizer: Tokenizer,
  name: string,
): LoadedModel {
  const located = locateTensors(files, config, where);
  return {
    config,
    info: { name, format: 'safetensors', path: where, synthetic: false },
    tensor(canonical: string): TensorSource {
      const loc = located.get(canonical);
      if (!loc) throw new BenchError('BAD_INPUT', `model ${where} has no tensor ${canonical}`);
      return { shape: loc.file.tensors.get(loc.name)!.shape, read: () => readSafetensorsF32(loc.file, loc.name) };
    },
    tokenizer,
  };
}

/** Where a model folder's tokenizer comes from: a tokenizer already loaded, a tokenizer.json path, or the folder. */
export type TokenizerOverride = Tokenizer | string | undefined;

function folderTokenizer(dir: string, override: TokenizerOverride): Tokenizer & { chatTemplate?: string | undefined } {
  if (typeof override === 'object') return override;
  return hfFolderTokenizer(dir, override);
}

/** tokenizer.json (+ tokenizer_config.json beside it) of a model folder, or the given tokenizer.json. */
export function hfFolderTokenizer(dir: string, override?: string): ReturnType<typeof loadHfTokenizer> {
  const path = override ?? join(dir, 'tokenizer.json');
  if (!existsSync(path)) {
    throw new BenchError(
      'BAD_TOKENIZER',
      `${dir}: no tokenizer.json; pass the model's tokenizer.json with --tokenizer FILE`,
    );
  }
  const cfg = join(dirname(path), 'tokenizer_config.json');
  return loadHfTokenizer(path, existsSync(cfg) ? cfg : undefined);
}

export function loadHfFolder(dir: string, opts: { tokenizer?: TokenizerOverride } = {}): HfLoadedModel {
  const config = hfConfig(readJson(join(dir, 'config.json')), join(dir, 'config.json'));
  const files = weightFiles(dir).map(readSafetensors);
  const tokenizer = folderTokenizer(dir, opts.tokenizer);
  if (tokenizer.vocabSize > config.vocabSize) {
    bad(
      join(dir, 'config.json'),
      'vocab_size',
      `${config.vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`,
    );
  }
  return {
    ...model(config, files, dir, tokenizer, basename(dir)),
    generationDefaults: generationDefaults(dir),
    chatTemplate: tokenizer.chatTemplate,
  };
}

/**
 * A lone .safetensors file: its config comes from __metadata__.config (as writeModelSafetensors stores it) or a
 * config.json beside it; the tokenizer from `opts.tokenizer` or a tokenizer.json beside it.
 */
export function loadSafetensorsFile(path: string, opts: { tokenizer?: TokenizerOverride } = {}): HfLoadedModel {
  const file = readSafetensors(path);
  const dir = dirname(path);
  let raw: Record<string, unknown>;
  if (file.metadata.config) {
    try {
      raw = JSON.parse(file.metadata.config);
    } catch (e) {
      return bad(path, '__metadata__.config', `not valid JSON (${(e as Error).message})`);
    }
  } else if (existsSync(join(dir, 'config.json'))) raw = readJson(join(dir, 'config.json'));
  else bad(path, '__metadata__', 'has no "config" and there is no config.json beside the file; pass the model folder');
  const config = hfConfig(raw, path);
  const tokenizer = folderTokenizer(dir, opts.tokenizer);
  return {
    ...model(config, [file], path, tokenizer, basename(path).replace(/\.safetensors$/, '')),
    generationDefaults: generationDefaults(dir),
    chatTemplate: tokenizer.chatTemplate,
  };
}
