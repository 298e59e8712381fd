// y[t, n] (+)= sum_k x[t, k] * w[n, k]: a linear layer over all tokens of the step.
// LANES threads share one output row and reduce their partial sums (GPUs: coalesced weight reads); LANES = 1 gives
// each thread whole rows with no barriers at all, which is what a CPU (lavapipe) runs fastest, since there every
// workgroup and every barrier has a fixed cost. Each workgroup covers up to TT tokens, so a weight is read once
// per TT tokens (decode, T = 1, is the matrix-vector case). ACCUMULATE adds into y: the residual add is free.
override WG: u32 = 128;
override LANES: u32 = 32; // divides WG
override K: u32; // input features
override N: u32; // output features
override ACCUMULATE: bool = false;
override USE_OUT_COUNT: bool = false; // rows = counts.n_out (classifier) instead of counts.n_tokens
const TT: u32 = 8u;

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>; // [T, K]
@group(0) @binding(1) var<storage, read> w: array<f32>; // [N, K]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [T, N]
@group(0) @binding(3) var<storage, read> counts: Counts;

var<workgroup> partial: array<f32, WG * TT>;

//! include matmul_store

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // Row groups are folded over x and y because one dispatch dimension stops at 65535 (vocabularies are larger).
  let n = (wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  let t0 = wid.z * TT;
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (t0 >= rows) { return; }
  let nt = min(TT, rows - t0);
  var acc: array<f32, TT>;
  if (n < N) {
    for (var k = lane; k < K; k += LANES) {
      let wk = w[n * K + k];
      for (var j = 0u; j < TT; j++) {
        if (j < nt) { acc[j] += wk * x[(t0 + j) * K + k]; }
      }
    }
  }
  if (LANES == 1u && !paired()) {
    if (n < N) {
      for (var j = 0u; j < nt; j++) { store(t0 + j, n, acc[j], 0.0); }
    }
    return;
  }
  for (var j = 0u; j < TT; j++) { partial[j * WG + lid] = acc[j]; }
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var j = 0u; j < TT; j++) { partial[j * WG + lid] += partial[j * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  // Lane j stores token j (LANES = 1: the one lane all). A pair's rows (paired(): the SWIGLU and RoPE epilogues) are
  // adjacent row groups of this workgroup (WG / LANES is even): the odd row's gate is the previous group's result.
  let gate = lid - lane - select(0u, LANES, paired() && n % 2u == 1u);
  if (n < N) {
    for (var j = lane; j < nt; j += LANES) { store(t0 + j, n, partial[j * WG + lid - lane], partial[j * WG + gate]); }
  }
}
