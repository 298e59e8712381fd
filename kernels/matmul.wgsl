// y[t, n] (+)= sum_k x[t, k] * w[n, k]: a linear layer over all tokens of the step.
// One workgroup computes one output feature for up to TT tokens, so each weight row is read once per TT tokens
// (decode with T = 1 is the matrix-vector case). ACCUMULATE adds into y: the residual add costs no extra pass.
override WG: u32 = 128;
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // Outputs are folded over x and y because one dispatch dimension stops at 65535 (vocabularies are larger).
  let n = wid.x + wid.y * nwg.x;
  let t0 = wid.z * TT;
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (n >= N || t0 >= rows) { return; }
  let nt = min(TT, rows - t0);
  var acc: array<f32, TT>;
  for (var k = lid; k < K; k += WG) {
    let wk = w[n * K + k];
    for (var j = 0u; j < nt; j++) {
      acc[j] += wk * x[(t0 + j) * K + k];
    }
  }
  for (var j = 0u; j < TT; j++) { partial[j * WG + lid] = acc[j]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      for (var j = 0u; j < TT; j++) { partial[j * WG + lid] += partial[j * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lid < nt) {
    let o = (t0 + lid) * N + n;
    let v = partial[lid * WG];
    if (ACCUMULATE) { y[o] += v; } else { y[o] = v; }
  }
}
