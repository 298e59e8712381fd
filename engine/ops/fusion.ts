// --fusion on: a layer in fewer, larger dispatches. Decode at batch 1 reads every weight once per token whatever
// the fusion, so what fusion saves is the fixed cost of dispatches (and the activations' round trips to memory):
//   - wq, wk, wv become one linear 'wqkv' over their stacked rows; its output [T, q | k | v] feeds rope_kv (QKV), or,
//     on decode steps of interleaved-RoPE models with f32/f16 caches, its epilogue rotates q and k and stores k and v
//     into the cache itself (kernels/matmul_store_rope.wgsl);
//   - w1, w3 become one linear 'w13' over their interleaved rows (gate row n at 2n, up row n at 2n + 1) whose kernel
//     stores silu(gate) * up as it finishes each pair (the SWIGLU epilogue of kernels/matmul*.wgsl), so the FFN's
//     activation needs no dispatch and gate and up never reach memory;
//   - on GPUs with a packed weight format, each layer's input RMSNorm runs inside the linear that reads it
//     (kernels/matmul_packed.wgsl, NORM) on decode-sized steps.
// Quantization works per row (int8) or per group of one row (int4), so packing the fused matrix packs each row as it
// would have been packed alone: fused and unfused layers compute the same products.
// This module says which matrices fuse and where their rows go; gpu-weights.ts uploads them, model-runner.ts
// encodes the fused layer.
import { tensorNames } from '../model/config.ts';

export const FUSION_MODES = ['on', 'off'] as const;
export type Fusion = (typeof FUSION_MODES)[number];

/** A linear layer made of several checkpoint matrices with the same input (same K). */
export interface FusedLinear {
  name: string; // the runner's weight name, 'layers.3.wqkv' (a single part keeps its checkpoint name)
  parts: string[]; // the checkpoint tensors, in order
  interleave: boolean; // false: the parts' rows stacked; true: row i of each part in turn (parts of equal rows)
}

export function fusedLinears(l: number): { wqkv: FusedLinear; w13: FusedLinear } {
  return {
    wqkv: {
      name: `layers.${l}.wqkv`,
      parts: [tensorNames.wq(l), tensorNames.wk(l), tensorNames.wv(l)],
      interleave: false,
    },
    w13: { name: `layers.${l}.w13`, parts: [tensorNames.w1(l), tensorNames.w3(l)], interleave: true },
  };
}

/** The linear layers of layer l in the order it runs them: every checkpoint matrix alone, or wqkv and w13 fused. */
export function layerLinears(l: number, fuse: boolean): FusedLinear[] {
  const alone = (name: string): FusedLinear => ({ name, parts: [name], interleave: false });
  const { wqkv, w13 } = fusedLinears(l);
  const wo = alone(tensorNames.wo(l));
  const w2 = alone(tensorNames.w2(l));
  return fuse ? [wqkv, wo, w13, w2] : [...wqkv.parts.map(alone), wo, ...w13.parts.map(alone), w2];
}

/** `count` consecutive rows of part `part`, from its row `from`, land at row `to` of the fused matrix. */
export interface RowSpan {
  part: number;
  from: number;
  to: number;
  count: number;
}

/** Where every row of every part goes (the one statement of the layouts above, for host and device copies). */
export function rowSpans(partRows: readonly number[], interleave: boolean): RowSpan[] {
  const spans: RowSpan[] = [];
  if (!interleave) {
    let to = 0;
    partRows.forEach((count, part) => {
      spans.push({ part, from: 0, to, count });
      to += count;
    });
    return spans;
  }
  const rows = partRows[0]!;
  if (partRows.some((r) => r !== rows)) throw new Error(`interleaved parts need equal rows: ${partRows.join(', ')}`);
  for (let i = 0; i < rows; i++) {
    partRows.forEach((_, part) => {
      spans.push({ part, from: i, to: i * partRows.length + part, count: 1 });
    });
  }
  return spans;
}

/** The fused [sum of rows, cols] matrix of row-major parts (a single part is returned as it is). */
export function fuseRows(parts: readonly Float32Array[], cols: number, interleave: boolean): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const partRows = parts.map((p) => p.length / cols);
  const out = new Float32Array(partRows.reduce((a, b) => a + b, 0) * cols);
  for (const s of rowSpans(partRows, interleave)) {
    out.set(parts[s.part]!.subarray(s.from * cols, (s.from + s.count) * cols), s.to * cols);
  }
  return out;
}
