// y[t, n] (+)= sum_k x[t, k] * w[n, k] for f32 weights on CPU adapters (lavapipe): no barriers, no workgroup
// memory, and as few loads per multiply-add as registers allow. llvmpipe runs a workgroup's invocations as SIMD
// lanes and loads storage lane by lane (a gather), so loads, not arithmetic, bound a CPU matmul: here an invocation
// owns ROWS rows and a tile of TT tokens, and each step of k loads ROWS vec4 of w and TT vec4 of x for
// ROWS x TT x 4 multiply-adds. The accumulator arrays are indexed only by unrolled constant loops, so they stay in
// registers. 8 x 8 with 8 invocations per workgroup was the fastest of 2..8 rows, 8..16 tokens and 8..32
// invocations on tiny's layer shapes at 32 tokens (3-4x the one-row kernel). Same contract as matmul.wgsl;
// K must be a multiple of 4.
override WG: u32 = 8;
override K: u32; // input features, a multiple of 4
override N: u32; // output features
override ACCUMULATE: bool = false;
override USE_OUT_COUNT: bool = false; // rows = counts.n_out (classifier) instead of counts.n_tokens
const ROWS: u32 = 8u; // rows per invocation: rowsPerWorkgroup = WG * ROWS
const TT: u32 = 8u; // tokens per workgroup (the grid's z)

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> x: array<vec4f>; // [T, K / 4]
@group(0) @binding(1) var<storage, read> w: array<vec4f>; // [N, K / 4]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [T, N]
@group(0) @binding(3) var<storage, read> counts: Counts;

//! include matmul_store

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // Row groups are folded over x and y because one dispatch dimension stops at 65535 (vocabularies are larger).
  let n0 = ((wid.x + wid.y * nwg.x) * WG + lid) * ROWS;
  let t0 = wid.z * TT;
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (t0 >= rows) { return; }
  let K4 = K / 4u;
  let nt = min(TT, rows - t0);
  // Rows past N and tokens past the last repeat the last one: computed, never stored (no divergent exits, no
  // out-of-range loads).
  var wo: array<u32, ROWS>;
  for (var r = 0u; r < ROWS; r++) { wo[r] = min(n0 + r, N - 1u) * K4; }
  var acc: array<f32, ROWS * TT>;
  if (nt == 1u) {
    // A single token (batch-1 decode): the matrix-vector product, without the rest of the tile's work.
    let xo = t0 * K4;
    for (var k = 0u; k < K4; k++) {
      let xv = x[xo + k];
      for (var r = 0u; r < ROWS; r++) { acc[r] += dot(w[wo[r] + k], xv); }
    }
  } else {
    var xo: array<u32, TT>;
    for (var j = 0u; j < TT; j++) { xo[j] = min(t0 + j, rows - 1u) * K4; }
    for (var k = 0u; k < K4; k++) {
      var wv: array<vec4f, ROWS>;
      for (var r = 0u; r < ROWS; r++) { wv[r] = w[wo[r] + k]; }
      for (var j = 0u; j < TT; j++) {
        let xv = x[xo[j] + k];
        for (var r = 0u; r < ROWS; r++) { acc[j * ROWS + r] += dot(wv[r], xv); }
      }
    }
  }
  for (var j = 0u; j < nt; j++) {
    for (var r = 0u; r < ROWS; r++) {
      // Pairs (SWIGLU, RoPE): ROWS is even, so row r's pair starts at this invocation's row r - r % 2.
      if (n0 + r < N) { store(t0 + j, n0 + r, acc[j * ROWS + r], acc[j * ROWS + r - r % 2u]); }
    }
  }
}
