// A GGUF checkpoint as an engine model: hyper-parameters from `<arch>.*` metadata, tensors renamed onto the
// canonical names and read lazily (dequantized to f32 on read), the tokenizer from `tokenizer.ggml.*`.

import { basename } from 'node:path';
import { BenchError } from '../errors.ts';
import { type ModelConfig, tensorShapes } from '../model/config.ts';
import type { LoadedModel, TensorSource } from '../model/weights.ts';
import { tokenizerFromGguf } from '../tokenizer/gguf.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { assertDecodable, type GgufFile, type GgufMetadata, readGguf, readTensorBytes, readTensorF32 } from './gguf.ts';
import { canonicalFromGguf, ggufFromCanonical } from './names.ts';

/**
 * Architectures whose blocks are the engine's Llama block, and the RoPE layout llama.cpp uses for them: LLAMA_ROPE_TYPE_NORM
 * rotates adjacent pairs (llama.cpp's converter permutes q/k into that order), NEOX rotates halves.
 */
const ARCH_ROPE: Record<string, ModelConfig['ropeLayout']> = {
  llama: 'interleaved',
  mistral: 'interleaved',
  granite: 'interleaved',
  qwen2: 'half',
  qwen3: 'half',
};

export interface GgufLoadedModel extends LoadedModel {
  gguf: GgufFile;
  /** ggml type id of a canonical tensor as stored (GgmlType.Q8_0, ...), for kernels that keep blocks quantized. */
  tensorType(name: string): number;
  /** The stored bytes of a canonical tensor (ggml blocks as they are in the file). */
  tensorBytes(name: string): Uint8Array;
}

function bad(path: string, field: string, cause: string): never {
  throw new BenchError('BAD_CHECKPOINT', `${path}: ${field}: ${cause}`);
}

function unsupported(path: string, field: string, cause: string): never {
  throw new BenchError('UNSUPPORTED', `${path}: ${field}: ${cause}`);
}

function requireNumber(md: GgufMetadata, key: string): number {
  const v = md.number(key);
  if (v === undefined) bad(md.path, key, 'missing; the file is not a complete model (vocab-only GGUF?)');
  if (!Number.isFinite(v) || v <= 0) bad(md.path, key, `value ${v} is not a positive number`);
  return v;
}

export function ggufConfig(file: GgufFile): ModelConfig {
  const md = file.metadata;
  const path = file.path;
  const arch = md.string('general.architecture');
  if (arch === undefined) bad(path, 'general.architecture', 'missing; the file is corrupt');
  const ropeLayout = ARCH_ROPE[arch];
  if (!ropeLayout) {
    unsupported(
      path,
      'general.architecture',
      `"${arch}" is not a Llama-family architecture the engine runs (supported: ${Object.keys(ARCH_ROPE).join(', ')})`,
    );
  }
  const k = (s: string) => `${arch}.${s}`;
  const scaling = md.string(k('rope.scaling.type'));
  if (scaling !== undefined && scaling !== 'none') {
    unsupported(path, k('rope.scaling.type'), `RoPE scaling "${scaling}" is not implemented by the engine yet`);
  }
  if (file.tensors.has('rope_freqs.weight')) {
    unsupported(
      path,
      'tensor rope_freqs.weight',
      'Llama 3 RoPE frequency scaling is not implemented by the engine yet',
    );
  }
  const dim = requireNumber(md, k('embedding_length'));
  const nHeads = requireNumber(md, k('attention.head_count'));
  const headDim = md.number(k('attention.key_length')) ?? dim / nHeads;
  const ropeDims = md.number(k('rope.dimension_count'));
  if (ropeDims !== undefined && ropeDims !== headDim) {
    unsupported(path, k('rope.dimension_count'), `partial rotary (${ropeDims} of ${headDim} dims) is not supported`);
  }
  const embd = file.tensors.get('token_embd.weight');
  if (!embd) bad(path, 'tensor token_embd.weight', 'missing; the file has no weights (vocab-only GGUF?)');
  return {
    dim,
    hiddenDim: requireNumber(md, k('feed_forward_length')),
    nLayers: requireNumber(md, k('block_count')),
    nHeads,
    nKvHeads: md.number(k('attention.head_count_kv')) ?? nHeads,
    headDim,
    vocabSize: embd.shape[0]!,
    maxSeqLen: md.number(k('context_length')) ?? 2048,
    normEps: md.number(k('attention.layer_norm_rms_epsilon')) ?? 1e-5,
    ropeTheta: md.number(k('rope.freq_base')) ?? 10000,
    ropeLayout,
    tiedClassifier: !file.tensors.has('output.weight'),
  };
}

/**
 * Opens a GGUF checkpoint; tensors are validated now (names, shapes, types) and read only when asked for.
 * `opts.tokenizer` replaces the embedded tokenizer (a file without tokenizer.ggml.* metadata needs one).
 */
export function loadGguf(path: string, opts: { tokenizer?: Tokenizer } = {}): GgufLoadedModel {
  const file = readGguf(path);
  const config = ggufConfig(file);
  const byCanonical = new Map<string, string>();
  for (const name of file.tensors.keys()) {
    const canonical = canonicalFromGguf(name);
    if (canonical) byCanonical.set(canonical, name);
    else
      unsupported(path, `tensor ${name}`, "has no place in the engine's Llama block (biases, extra norms or experts)");
  }
  for (const [canonical, shape] of tensorShapes(config)) {
    const name = byCanonical.get(canonical);
    if (!name) bad(path, `tensor ${ggufFromCanonical(canonical)}`, 'missing; the file is incomplete');
    const t = file.tensors.get(name)!;
    if (t.shape.join(',') !== shape.join(',')) {
      bad(path, `tensor ${name}`, `shape [${t.shape}] does not match the metadata's [${shape}]; the file is corrupt`);
    }
    assertDecodable(file, t);
  }
  const tokenizer = opts.tokenizer ?? tokenizerFromGguf(file.metadata);
  if (opts.tokenizer && tokenizer.vocabSize > config.vocabSize) {
    throw new BenchError(
      'BAD_TOKENIZER',
      `the tokenizer has ${tokenizer.vocabSize} tokens but ${path} has a vocabulary of ${config.vocabSize} (token_embd rows); ` +
        'pass the tokenizer the model was trained with (--tokenizer FILE)',
    );
  }
  if (!opts.tokenizer && tokenizer.vocabSize !== config.vocabSize) {
    bad(path, 'tokenizer.ggml.tokens', `${tokenizer.vocabSize} tokens but token_embd has ${config.vocabSize} rows`);
  }
  const stored = (name: string): string => {
    const s = byCanonical.get(name);
    if (!s) throw new BenchError('BAD_INPUT', `model ${path} has no tensor ${name}`);
    return s;
  };
  return {
    config,
    info: { name: file.metadata.string('general.name') ?? basename(path), format: 'gguf', path, synthetic: false },
    tensor(name: string): TensorSource {
      const s = stored(name);
      return { shape: file.tensors.get(s)!.shape, read: () => readTensorF32(file, s) };
    },
    tokenizer,
    gguf: file,
    tensorType: (name) => file.tensors.get(stored(name))!.type,
    tensorBytes: (name) => readTensorBytes(file, stored(name)),
  };
}
