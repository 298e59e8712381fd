// The tiled linear kernel on the GPU's matrix units (--subgroup-matrix; kernels/matmul_{half,int8,int4}_mma.wgsl,
// which enable f16, subgroups and the subgroup matrices): y[t, n] (+)= sum_k x[t, k] * w[n, k] for steps of many
// tokens, as kernels/matmul_tiled.wgsl computes it with f32 multiply-adds (~14 TFLOPS on an H100, which bounded
// batched decode and prefill). Each K step decodes a BN x KC block of weights (with scales) and a BT x KC block of x
// into workgroup memory as f16, once; then each of the 8 subgroups multiplies its 32 x 32 eighth of the block as
// 2 x 2 tiles of 16 x 16 with subgroupMatrixMultiplyAccumulate, accumulating in f32. The results go through
// workgroup memory to the same epilogue as the tiled kernel. x is rounded to f16 (clamped to its range), as f16
// inference frameworks keep activations; weights are exact in f16 for f16 and int8 (its codes; the row's scale is
// applied to the sum), rounded to f16's 11 bits for int4 (scale * code + min) and bf16 (clamped to f16's range).
// Needs a 16 x 16 x 16 f16 configuration with f32 results and subgroups of exactly 32 invocations (NVIDIA's):
// engine/device/device.ts checks both (GpuContext.subgroupMatrix).
// A block of 128 tokens, not 64: at 128 tokens a step (llama-1b, 128 sequences) each weight block is staged once,
// not once per 64 tokens, and each thread stages 3/4 of the values for the same products; one machine session on an
// H100: 13.38 against 15.09 ms a decode step, 8233 against 7200 tok/s (bench/throughput.ts). Kernel alone, no
// K splits: faster at 512 tokens (11264x2048 468 vs 547 us), slower at 128 (164 vs 153), where the engine splits K.
const WG: u32 = 256u; // 8 subgroups of 32: 4 along tokens x 2 along rows
const BN: u32 = 64u; // rows per workgroup
const BT: u32 = 128u; // tokens per workgroup (engine/ops/subgroup-matrix.ts MMA_TOKENS)
const OT: u32 = 64u; // tokens whose results os holds at a time
const KC: u32 = 64u; // k values per step: whole chunks of every format
const PAD: u32 = KC + 8u; // row stride of the staged blocks in halves: rows 16 bytes apart in bank order
//! include matmul_tiled_io

var<workgroup> xs: array<f16, BT * PAD>; // [token, k] the step's x
var<workgroup> ws: array<f16, BN * PAD>; // [row, k] the step's weights: the right matrix, column-major
// [token, row] OT tokens of the block's results, for the epilogue (all BT of them would not fit beside xs and ws at
// BT = 128), then a 16 x 16 tile that the subgroups holding other tokens store into meanwhile.
var<workgroup> os: array<f32, OT * BN + 256u>;

alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, 16, 16>;
alias Result = subgroup_matrix_result<f32, 16, 16>;

// A thread's share of one K step, loaded into registers a step ahead (so the loads' latency overlaps the previous
// step's products), then decoded into workgroup memory: WPT weight chunks and XPT values of x. Measured on the H100:
// staging element by element in loops (one load's latency after another) took 18x the products' time.
const WCH: u32 = BN * (KC / CHUNK); // weight chunks a step
const WPT: u32 = (WCH + WG - 1u) / WG;
const XPT: u32 = BT * KC / WG;
struct Step {
  w: array<vec4<u32>, WPT>,
  sm: array<vec2f, WPT>, // chunk_scale of each chunk
  x: array<f32, XPT>,
}

// Step s's loads: chunk j of this thread is chunk e % (KC / CHUNK) of row e / (KC / CHUNK) of the block, e = lid +
// j WG (consecutive threads, consecutive chunks of a row); x value j is k e % KC of token e / KC, e = lid + j WG.
fn load_step(s: u32, lid: u32, n0: u32, t0: u32, rows: u32) -> Step {
  var st: Step;
  let c0 = s * (KC / CHUNK);
  for (var j = 0u; j < WPT; j++) {
    let e = min(lid + j * WG, WCH - 1u); // past the block (int4 at WG 256): loaded, never stored
    let n = min(n0 + e / (KC / CHUNK), N - 1u); // rows past N: computed, never stored
    let c = min(c0 + e % (KC / CHUNK), STRIDE - 1u); // chunks past the row: zeroed in store_step
    st.w[j] = w[n * STRIDE + c];
    st.sm[j] = chunk_scale(n, c);
  }
  for (var j = 0u; j < XPT; j++) {
    let e = lid + j * WG;
    let tok = min(t0 + e / KC, rows - 1u);
    let k = c0 * CHUNK + e % KC;
    st.x[j] = x[tok * K + min(k, K - 1u)];
  }
  return st;
}

// Step s's blocks into workgroup memory as f16: weights decoded and scaled (w = scale * value + min), zero past the
// row; x zero past K (so padding weights add nothing) and past the step's tokens.
fn store_step(st: Step, s: u32, lid: u32, t0: u32, rows: u32) {
  let c0 = s * (KC / CHUNK);
  for (var j = 0u; j < WPT; j++) {
    let e = lid + j * WG;
    if (e >= WCH) { break; }
    let r = e / (KC / CHUNK);
    let cc = e % (KC / CHUNK);
    let d = decode_chunk(st.w[j]);
    let keep = select(0.0, 1.0, c0 + cc < STRIDE);
    for (var q = 0u; q < XV; q++) {
      let v = keep * (st.sm[j].x * d[q] + st.sm[j].y);
      let h = vec4<f16>(clamp(v, vec4f(-65504.0), vec4f(65504.0))); // bf16 may exceed f16's range
      for (var i = 0u; i < 4u; i++) { ws[r * PAD + cc * CHUNK + 4u * q + i] = h[i]; }
    }
  }
  for (var j = 0u; j < XPT; j++) {
    let e = lid + j * WG;
    let k = c0 * CHUNK + e % KC;
    let v = select(0.0, st.x[j], k < K && t0 + e / KC < rows);
    xs[(e / KC) * PAD + e % KC] = f16(clamp(v, -65504.0, 65504.0));
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_id) sg: u32) {
  let b = block(wid, nwg);
  if (b.t0 >= b.rows) { return; }
  let n0 = b.n0;
  let t0 = b.t0;
  let rows = b.rows;
  let range = b.range;
  // This subgroup's eighth of the block: tokens tq .. tq + 31, rows rq .. rq + 31 (from subgroup_id: the matrix
  // operations need offsets uniform across the subgroup).
  let tq = 32u * (sg / 2u);
  let rq = 32u * (sg % 2u);
  // accIJ: tokens tq + 16 I, rows rq + 16 J. Four variables, not an array: an array indexed at run time would live
  // in memory, not registers.
  var acc00: Result;
  var acc01: Result;
  var acc10: Result;
  var acc11: Result;
  var next: Step; // a split without steps still writes its (zero) partial sums
  if (range.x < range.y) { next = load_step(range.x, lid, n0, t0, rows); }
  for (var s = range.x; s < range.y; s++) {
    workgroupBarrier(); // the previous step's blocks have been used
    store_step(next, s, lid, t0, rows);
    workgroupBarrier();
    if (s + 1u < range.y) { next = load_step(s + 1u, lid, n0, t0, rows); }
    for (var kk = 0u; kk < KC; kk += 16u) {
      let b0 = subgroupMatrixLoad<Right, col_major>(&ws, rq * PAD + kk, PAD);
      let b1 = subgroupMatrixLoad<Right, col_major>(&ws, (rq + 16u) * PAD + kk, PAD);
      let a0 = subgroupMatrixLoad<Left, row_major>(&xs, tq * PAD + kk, PAD);
      let a1 = subgroupMatrixLoad<Left, row_major>(&xs, (tq + 16u) * PAD + kk, PAD);
      acc00 = subgroupMatrixMultiplyAccumulate(a0, b0, acc00);
      acc01 = subgroupMatrixMultiplyAccumulate(a0, b1, acc01);
      acc10 = subgroupMatrixMultiplyAccumulate(a1, b0, acc10);
      acc11 = subgroupMatrixMultiplyAccumulate(a1, b1, acc11);
    }
  }
  for (var h = 0u; h < BT; h += OT) {
    // Tokens h .. h + OT: their subgroups store into os, the others into its spare tile (offsets and strides, not
    // branches: the matrix operations must stay in uniform control flow).
    let mine = tq >= h && tq < h + OT;
    let at = select(OT * BN, (tq - h) * BN + rq, mine);
    let stride = select(16u, BN, mine);
    let down = select(0u, 16u * BN, mine); // 16 tokens on
    let right = select(0u, 16u, mine); // 16 rows on
    subgroupMatrixStore<row_major>(&os, at, acc00, stride);
    subgroupMatrixStore<row_major>(&os, at + right, acc01, stride);
    subgroupMatrixStore<row_major>(&os, at + down, acc10, stride);
    subgroupMatrixStore<row_major>(&os, at + down + right, acc11, stride);
    workgroupBarrier();
    for (var e = lid; e < OT * BN; e += WG) {
      let t = t0 + h + e / BN;
      let n = n0 + e % BN;
      if (t < rows && n < N) { finish(b, t, n, os[e], os[e - n % 2u]); } // SWIGLU: the pair's even row
    }
    workgroupBarrier(); // os is free for the next tokens
  }
}
