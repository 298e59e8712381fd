// The linear-layer kernel of the packed weight formats for steps of many tokens (batched decode, prefill):
// y[t, n] (+)= sum_k x[t, k] * w[n, k] as a tiled matrix product. kernels/matmul_packed.wgsl walks each token of
// a tile through every weight (a matrix-vector product per token: right for one token, where the bytes of weight
// decide); here a workgroup computes a BN x BT block of y, and each K step decodes a BN x KC block of weights (with
// scales) and a BT x KC block of x into workgroup memory once, after which every thread accumulates a 4 x 4 block
// of outputs: per step 2 vec4 loads from workgroup memory feed 16 multiply-adds, so arithmetic, not memory, bounds it.
// Same hooks (kernels/format_*.wgsl: decode_chunk, chunk_scale, row_scale) and epilogue (matmul_store: ACCUMULATE,
// SWIGLU) as the packed kernel; interface, K splits and their combine pass in kernels/matmul_tiled_io.wgsl.
const WG: u32 = 128u; // 16 row quads x 8 token quads
const BN: u32 = 64u; // rows per workgroup
const BT: u32 = 32u; // tokens per workgroup
const KC: u32 = 32u; // k values per step: whole chunks of every format (8, 16 or 32 values)
//! include matmul_tiled_io

var<workgroup> ws: array<vec4f, KC * BN / 4u>; // [kk, row quad]: the step's weights, four rows per vec4
var<workgroup> xs: array<vec4f, KC * BT / 4u>; // [kk, token quad]: the step's x, four tokens per vec4

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let b = block(wid, nwg);
  if (b.t0 >= b.rows) { return; }
  let n0 = b.n0;
  let t0 = b.t0;
  let rows = b.rows;
  let rq = lid % (BN / 4u); // this thread's rows n0 + 4 rq .. + 3
  let tq = lid / (BN / 4u); // and tokens t0 + 4 tq .. + 3
  var acc: array<vec4f, 4>; // acc[i][j]: token 4 tq + i, row 4 rq + j
  for (var c0 = b.range.x * (KC / CHUNK); c0 < b.range.y * (KC / CHUNK); c0 += KC / CHUNK) {
    workgroupBarrier(); // the previous step's blocks have been used
    // Weights: BN rows x KC / CHUNK chunks, decoded and scaled (w = scale * value + min); chunks past the row are 0.
    for (var e = lid; e < BN * (KC / CHUNK); e += WG) {
      let r = e / (KC / CHUNK);
      let cc = e % (KC / CHUNK);
      let n = min(n0 + r, N - 1u); // rows past N: computed, never stored
      let c = c0 + cc;
      var v = array<vec4f, XV>();
      if (c < STRIDE) {
        let sm = chunk_scale(n, c);
        let d = decode_chunk(w[n * STRIDE + c]);
        for (var q = 0u; q < XV; q++) { v[q] = sm.x * d[q] + sm.y; }
      }
      for (var q = 0u; q < XV; q++) {
        for (var i = 0u; i < 4u; i++) { ws[(cc * CHUNK + 4u * q + i) * (BN / 4u) + r / 4u][r % 4u] = v[q][i]; }
      }
    }
    // x: BT tokens x KC values, four consecutive k per thread; zero past K (padding) and past the step's tokens.
    for (var e = lid; e < BT * KC / 4u; e += WG) {
      let t = e % BT;
      let kq = e / BT;
      let tok = t0 + t;
      for (var i = 0u; i < 4u; i++) {
        let k = c0 * CHUNK + 4u * kq + i;
        let ok = k < K && tok < rows;
        xs[(4u * kq + i) * (BT / 4u) + t / 4u][t % 4u] = select(0.0, x[min(tok, rows - 1u) * K + min(k, K - 1u)], ok);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KC; kk++) {
      let wv = ws[kk * (BN / 4u) + rq];
      let xv = xs[kk * (BT / 4u) + tq];
      acc[0] += xv.x * wv;
      acc[1] += xv.y * wv;
      acc[2] += xv.z * wv;
      acc[3] += xv.w * wv;
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + 4u * tq + i;
    if (t < rows) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + 4u * rq + j;
        if (n < N) { finish(b, t, n, acc[i][j], acc[i][j - j % 2u]); } // SWIGLU: pairs are j = 0, 1 and 2, 3
      }
    }
  }
}
