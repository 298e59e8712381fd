// The shape of a Llama-family decoder. Every loader (llama2.c, GGUF, safetensors, synthetic presets)
// produces one of these; kernels and the CPU reference read only this.

export type RopeLayout =
  | 'interleaved' // rotates (x[2i], x[2i+1]) as llama2.c and GGUF do
  | 'half'; // rotates (x[i], x[i + d/2]) as Hugging Face checkpoints do

export interface ModelConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number; // < nHeads: grouped-query; 1: multi-query
  headDim: number; // usually dim / nHeads
  vocabSize: number;
  maxSeqLen: number;
  normEps: number;
  ropeTheta: number;
  ropeLayout: RopeLayout;
  tiedClassifier: boolean; // classifier reuses the token embedding
}

/** Canonical tensor names; shapes are [rows, cols] with rows = output features (PyTorch Linear layout). */
export const tensorNames = {
  embedding: 'tok_embeddings', // [vocab, dim]
  finalNorm: 'norm', // [dim]
  classifier: 'output', // [vocab, dim]; absent when tiedClassifier
  attnNorm: (l: number) => `layers.${l}.attn_norm`, // [dim]
  wq: (l: number) => `layers.${l}.wq`, // [nHeads * headDim, dim]
  wk: (l: number) => `layers.${l}.wk`, // [nKvHeads * headDim, dim]
  wv: (l: number) => `layers.${l}.wv`, // [nKvHeads * headDim, dim]
  wo: (l: number) => `layers.${l}.wo`, // [dim, nHeads * headDim]
  ffnNorm: (l: number) => `layers.${l}.ffn_norm`, // [dim]
  w1: (l: number) => `layers.${l}.w1`, // gate [hiddenDim, dim]
  w2: (l: number) => `layers.${l}.w2`, // down [dim, hiddenDim]
  w3: (l: number) => `layers.${l}.w3`, // up [hiddenDim, dim]
} as const;

/** Every tensor a model of this config has, with its shape. */
export function tensorShapes(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  m.set(tensorNames.embedding, [c.vocabSize, c.dim]);
  for (let l = 0; l < c.nLayers; l++) {
    m.set(tensorNames.attnNorm(l), [c.dim]);
    m.set(tensorNames.wq(l), [q, c.dim]);
    m.set(tensorNames.wk(l), [kv, c.dim]);
    m.set(tensorNames.wv(l), [kv, c.dim]);
    m.set(tensorNames.wo(l), [c.dim, q]);
    m.set(tensorNames.ffnNorm(l), [c.dim]);
    m.set(tensorNames.w1(l), [c.hiddenDim, c.dim]);
    m.set(tensorNames.w2(l), [c.dim, c.hiddenDim]);
    m.set(tensorNames.w3(l), [c.hiddenDim, c.dim]);
  }
  m.set(tensorNames.finalNorm, [c.dim]);
  if (!c.tiedClassifier) m.set(tensorNames.classifier, [c.vocabSize, c.dim]);
  return m;
}

/** Parameter count (weights only), for memory and bytes-per-token figures. */
export function parameterCount(c: ModelConfig): number {
  let n = 0;
  for (const shape of tensorShapes(c).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
