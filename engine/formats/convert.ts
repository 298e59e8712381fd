// Writes any loaded model back out: GGUF (llama architecture, F32/F16/BF16/Q8_0/Q4_0/Q4_1) or a Hugging Face
// folder (config.json, model.safetensors, tokenizer files). One tensor is in memory at a time. q/k rows are
// permuted when the target's RoPE layout differs from the source's (GGUF llama: interleaved, HF: half).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError } from '../errors.ts';
import { type ModelConfig, tensorShapes } from '../model/config.ts';
import type { LoadedModel } from '../model/weights.ts';
import { ggufTokenizerMetadata } from '../tokenizer/gguf.ts';
import { GgmlType } from './ggml-types.ts';
import type { GgufKv } from './gguf.ts';
import { type GgufTensorOut, kv, writeGguf } from './gguf-write.ts';
import { hfTokenizerFiles } from './hf-tokenizer-out.ts';
import { ggufFromCanonical, hfFromCanonical, isRopeRows, permuteRope } from './names.ts';
import { quantize } from './quant.ts';
import { type SafetensorsOut, writeSafetensors } from './safetensors.ts';

export type GgufOutType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_1';
export const GGUF_OUT_TYPES: readonly GgufOutType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1'];

const GGML_OF: Record<GgufOutType, number> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  bf16: GgmlType.BF16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
  q4_1: GgmlType.Q4_1,
};

/** llama.cpp's general.file_type (LLAMA_FTYPE_*) for each whole-model type. */
const FILE_TYPE: Record<GgufOutType, number> = { f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, bf16: 32 };

/** A tensor's f32 values with q/k rows in `layout`. */
export function readIn(
  model: LoadedModel,
  name: string,
  shape: number[],
  layout: ModelConfig['ropeLayout'],
): Float32Array {
  const w = model.tensor(name).read();
  const c = model.config;
  if (!isRopeRows(name) || c.ropeLayout === layout) return w;
  return permuteRope(w, shape[0]!, shape[1]!, c.headDim, layout);
}

/** Storage type of one tensor: vectors stay F32; rows that are not whole blocks fall back to F32 too. */
function tensorType(shape: number[], type: GgufOutType): number {
  if (shape.length < 2) return GgmlType.F32;
  const blocky = type.startsWith('q');
  return blocky && shape.at(-1)! % 32 !== 0 ? GgmlType.F32 : GGML_OF[type];
}

export function ggufModelMetadata(model: LoadedModel, type: GgufOutType): [string, GgufKv][] {
  const c = model.config;
  const md: [string, GgufKv][] = [
    ['general.architecture', kv.str('llama')],
    ['general.name', kv.str(model.info.name)],
    ['general.file_type', kv.u32(FILE_TYPE[type])],
    ['llama.context_length', kv.u32(c.maxSeqLen)],
    ['llama.embedding_length', kv.u32(c.dim)],
    ['llama.block_count', kv.u32(c.nLayers)],
    ['llama.feed_forward_length', kv.u32(c.hiddenDim)],
    ['llama.attention.head_count', kv.u32(c.nHeads)],
    ['llama.attention.head_count_kv', kv.u32(c.nKvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', kv.f32(c.normEps)],
    ['llama.rope.freq_base', kv.f32(c.ropeTheta)],
    ['llama.rope.dimension_count', kv.u32(c.headDim)],
    ['llama.vocab_size', kv.u32(c.vocabSize)],
  ];
  if (c.headDim * c.nHeads !== c.dim) {
    md.push(['llama.attention.key_length', kv.u32(c.headDim)], ['llama.attention.value_length', kv.u32(c.headDim)]);
  }
  md.push(['general.quantization_version', kv.u32(2)]);
  return [...md, ...ggufTokenizerMetadata(model.tokenizer, `model ${model.info.name}`)];
}

/** Writes `model` as a GGUF llama checkpoint with weight matrices stored as `type`. */
export function writeModelGguf(path: string, model: LoadedModel, type: GgufOutType = 'f32'): void {
  if (!(type in GGML_OF)) {
    throw new BenchError(
      'BAD_INPUT',
      `GGUF type "${type}" is not supported (choose one of ${GGUF_OUT_TYPES.join(', ')})`,
    );
  }
  const tensors: GgufTensorOut[] = [];
  for (const [name, shape] of tensorShapes(model.config)) {
    const t = tensorType(shape, type);
    tensors.push({
      name: ggufFromCanonical(name),
      shape,
      type: t,
      data: () => quantize(t, readIn(model, name, shape, 'interleaved')),
    });
  }
  writeGguf(path, ggufModelMetadata(model, type), tensors);
}

export type SafetensorsOutType = 'F32' | 'F16' | 'BF16';

/** config.json for the engine's model shape (LlamaForCausalLM). */
export function hfConfigJson(model: LoadedModel): Record<string, unknown> {
  const c = model.config;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: c.tiedClassifier,
    bos_token_id: model.tokenizer.bos >= 0 ? model.tokenizer.bos : null,
    eos_token_id: model.tokenizer.eos >= 0 ? model.tokenizer.eos : null,
    torch_dtype: 'float32',
  };
}

/** One .safetensors file in Hugging Face naming and layout; __metadata__ carries config.json for standalone use. */
export function writeModelSafetensors(path: string, model: LoadedModel, dtype: SafetensorsOutType = 'F32'): void {
  const ggml = dtype === 'F32' ? GgmlType.F32 : dtype === 'F16' ? GgmlType.F16 : GgmlType.BF16;
  const tensors: SafetensorsOut[] = [];
  for (const [name, shape] of tensorShapes(model.config)) {
    tensors.push({
      name: hfFromCanonical(name),
      dtype,
      shape,
      data: () => quantize(ggml, readIn(model, name, shape, 'half')),
    });
  }
  writeSafetensors(path, tensors, { format: 'pt', config: JSON.stringify(hfConfigJson(model)) });
}

/** A Hugging Face folder: config.json, generation_config.json, model.safetensors and the tokenizer files. */
export function writeHfFolder(dir: string, model: LoadedModel, dtype: SafetensorsOutType = 'F32'): void {
  mkdirSync(dir, { recursive: true });
  const tok = model.tokenizer;
  const files = hfTokenizerFiles(tok, `model ${model.info.name}`);
  writeModelSafetensors(join(dir, 'model.safetensors'), model, dtype);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(hfConfigJson(model), null, 2)}\n`);
  const gen = { bos_token_id: tok.bos >= 0 ? tok.bos : undefined, eos_token_id: tok.eos >= 0 ? tok.eos : undefined };
  writeFileSync(join(dir, 'generation_config.json'), `${JSON.stringify(gen, null, 2)}\n`);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(files.config, null, 2)}\n`);
}
