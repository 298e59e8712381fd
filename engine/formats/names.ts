// Tensor names of each checkpoint format mapped onto the engine's canonical names (model/config.ts tensorNames),
// and the q/k row permutation between the two RoPE layouts.

import type { ModelConfig } from '../model/config.ts';

const GGUF_LAYER: Record<string, string> = {
  attn_norm: 'attn_norm',
  attn_q: 'wq',
  attn_k: 'wk',
  attn_v: 'wv',
  attn_output: 'wo',
  ffn_norm: 'ffn_norm',
  ffn_gate: 'w1',
  ffn_down: 'w2',
  ffn_up: 'w3',
};

const HF_LAYER: Record<string, string> = {
  input_layernorm: 'attn_norm',
  'self_attn.q_proj': 'wq',
  'self_attn.k_proj': 'wk',
  'self_attn.v_proj': 'wv',
  'self_attn.o_proj': 'wo',
  post_attention_layernorm: 'ffn_norm',
  'mlp.gate_proj': 'w1',
  'mlp.down_proj': 'w2',
  'mlp.up_proj': 'w3',
};

const GGUF_GLOBAL: Record<string, string> = {
  'token_embd.weight': 'tok_embeddings',
  'output_norm.weight': 'norm',
  'output.weight': 'output',
};

const HF_GLOBAL: Record<string, string> = {
  'model.embed_tokens.weight': 'tok_embeddings',
  'model.norm.weight': 'norm',
  'lm_head.weight': 'output',
};

function invert(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k]));
}

const GGUF_LAYER_INV = invert(GGUF_LAYER);
const HF_LAYER_INV = invert(HF_LAYER);
const GGUF_GLOBAL_INV = invert(GGUF_GLOBAL);
const HF_GLOBAL_INV = invert(HF_GLOBAL);

/** Canonical name of a GGUF tensor, or undefined when the engine's model has no such tensor. */
export function canonicalFromGguf(name: string): string | undefined {
  const g = GGUF_GLOBAL[name];
  if (g) return g;
  const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(name);
  const part = m ? GGUF_LAYER[m[2]!] : undefined;
  return part ? `layers.${m![1]}.${part}` : undefined;
}

export function canonicalFromHf(name: string): string | undefined {
  const g = HF_GLOBAL[name];
  if (g) return g;
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
  const part = m ? HF_LAYER[m[2]!] : undefined;
  return part ? `layers.${m![1]}.${part}` : undefined;
}

function fromCanonical(name: string, global: Record<string, string>, layer: (l: string, p: string) => string): string {
  const g = global[name];
  if (g) return g;
  const m = /^layers\.(\d+)\.(\w+)$/.exec(name);
  if (!m) throw new Error(`not a canonical tensor name: ${name}`);
  return layer(m[1]!, m[2]!);
}

export function ggufFromCanonical(name: string): string {
  return fromCanonical(name, GGUF_GLOBAL_INV, (l, p) => `blk.${l}.${GGUF_LAYER_INV[p]}.weight`);
}

export function hfFromCanonical(name: string): string {
  return fromCanonical(name, HF_GLOBAL_INV, (l, p) => `model.layers.${l}.${HF_LAYER_INV[p]}.weight`);
}

/** True for the q and k projections, whose rows depend on the RoPE layout. */
export function isRopeRows(canonical: string): 'q' | 'k' | undefined {
  if (/^layers\.\d+\.wq$/.test(canonical)) return 'q';
  if (/^layers\.\d+\.wk$/.test(canonical)) return 'k';
  return undefined;
}

/**
 * Reorders the rows of a q or k projection [nHeads * headDim, cols] between the layouts. 'half' -> 'interleaved'
 * is llama.cpp's convert permute (rows (t, j) of a head become (j, t)); the other direction is its inverse.
 */
export function permuteRope(
  w: Float32Array,
  rows: number,
  cols: number,
  headDim: number,
  to: ModelConfig['ropeLayout'],
): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < rows / headDim; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) {
        const halfRow = h * headDim + t * half + j;
        const interRow = h * headDim + 2 * j + t;
        const [src, dst] = to === 'interleaved' ? [halfRow, interRow] : [interRow, halfRow];
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}
