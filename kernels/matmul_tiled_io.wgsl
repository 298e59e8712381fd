// The interface of the tiled linear kernels (kernels/matmul_tiled.wgsl, matmul_mma.wgsl), which declare WG, their
// block (BN rows x BT tokens, KC k values a step) and the format's hooks: shape constants, bindings (0-3 as every
// linear kernel; 6 the partial sums of a K split; 4, the folded norm, is not used: the runner runs the norm as its own
// dispatch on these steps), each workgroup's block and the `combine` entry point that finishes a split layer.
// Grid: [row blocks folded over x and y, 1, ceil(T / BT) * step_splits(T)].
override K: u32; // input features
override N: u32; // output features
override STRIDE: u32; // vec4<u32> chunks per packed row: ceil(K / CHUNK)
override ACCUMULATE: bool = false;
override USE_OUT_COUNT: bool = false; // rows = counts.n_out (classifier) instead of counts.n_tokens
// SPLITS > 1 splits K (layers with few rows would otherwise leave most of the GPU idle): split s of a block writes
// its partial sums to part[s, t, n], and `combine` (grid [ceil(T * N / WG), 1, 1] folded) adds them up and applies
// the epilogue. SPLITS is the layer's split at up to 128 tokens; larger steps (prefill) fill the GPU with their token
// blocks and split less, down to not at all (step_splits; engine/ops/tiled-launch.ts tiledStepSplits).
override SPLITS: u32 = 1; // parts of K, each a workgroup of its own
override MAX_T: u32 = 1; // tokens part[] holds per split (the step's largest)
override TARGET_WORKGROUPS: u32 = 528u; // a step splits K until about this many workgroups (tiled-launch.ts)

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>; // [T, K]
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>; // [N, STRIDE]: CHUNK values per vec4, k order
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [T, N]
@group(0) @binding(3) var<storage, read> counts: Counts;

@group(0) @binding(6) var<storage, read_write> part: array<f32>; // [SPLITS, MAX_T, N] (SPLITS > 1)

//! include matmul_store

// This step's rows (tokens, or out rows for the classifier) and its parts of K.
fn step_rows() -> u32 {
  return select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
}

fn step_splits(rows: u32) -> u32 {
  let blocks = ((N + BN - 1u) / BN) * ((rows + BT - 1u) / BT);
  return clamp(TARGET_WORKGROUPS / blocks, 1u, SPLITS);
}

// A workgroup's block: rows n0.., tokens t0.., K steps [range.x, range.y) of split `split` of `splits`.
struct Block {
  n0: u32,
  t0: u32,
  rows: u32, // the step's
  split: u32,
  splits: u32,
  range: vec2u,
}

fn block(wid: vec3u, nwg: vec3u) -> Block {
  let rows = step_rows();
  let splits = step_splits(rows);
  let split = wid.z % splits;
  let steps = (STRIDE + KC / CHUNK - 1u) / (KC / CHUNK);
  let per = (steps + splits - 1u) / splits;
  let range = vec2u(split * per, min((split + 1u) * per, steps));
  return Block((wid.x + wid.y * nwg.x) * BN, (wid.z / splits) * BT, rows, split, splits, range);
}

// Token t's result v for row n (before the row's scale), `gate` its SWIGLU pair's even row: to part[] for a split
// step, else through the epilogue.
fn finish(b: Block, t: u32, n: u32, v: f32, gate: f32) {
  if (b.splits > 1u) {
    part[(b.split * MAX_T + t) * N + n] = v * row_scale(n);
  } else {
    store(t, n, v * row_scale(n), gate * row_scale(min(n - n % 2u, N - 1u)));
  }
}

// Split steps: y[t, n] (+)= sum over splits of part[s, t, n], through the epilogue (SWIGLU: the pair's even row too).
@compute @workgroup_size(WG)
fn combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let rows = step_rows();
  if (i >= rows * N) { return; }
  let t = i / N;
  let n = i % N;
  var v = 0.0;
  var gate = 0.0;
  for (var s = 0u; s < step_splits(rows); s++) {
    v += part[(s * MAX_T + t) * N + n];
    if (paired()) { gate += part[(s * MAX_T + t) * N + n - n % 2u]; }
  }
  store(t, n, v, gate);
}
