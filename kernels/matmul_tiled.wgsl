// The linear-layer kernel of the packed weight formats for steps of many tokens (batched decode, prefill):
// y[t, n] (+)= sum_k x[t, k] * w[n, k] as a tiled matrix product. kernels/matmul_packed.wgsl walks each token of
// a tile through every weight (a matrix-vector product per token: right for one token, where the bytes of weight
// decide); here a workgroup computes a BN x BT block of y, and each K step decodes a BN x KC block of weights (with
// scales) and a BT x KC block of x into workgroup memory once, after which every thread accumulates a 4 x 4 block
// of outputs: per step 2 vec4 loads from workgroup memory feed 16 multiply-adds, so arithmetic, not memory, bounds it.
// Same hooks (kernels/format_*.wgsl: decode_chunk, chunk_scale, row_scale), bindings (4, the folded norm, is not
// used: the runner runs the norm as its own dispatch on these steps) and epilogue (matmul_store: ACCUMULATE, SWIGLU)
// as the packed kernel. Grid: [row blocks folded over x and y, 1, ceil(T / BT) * SPLITS] (linearGrid).
// SPLITS > 1 splits K (layers with few rows would otherwise leave most of the GPU idle): split s of a block writes
// its partial sums to part[s, t, n], and the `combine` entry point (grid [ceil(T * N / WG), 1, 1] folded) adds
// them up and applies the epilogue.
override K: u32; // input features
override N: u32; // output features
override STRIDE: u32; // vec4<u32> chunks per packed row: ceil(K / CHUNK)
override ACCUMULATE: bool = false;
override USE_OUT_COUNT: bool = false; // rows = counts.n_out (classifier) instead of counts.n_tokens
override SPLITS: u32 = 1; // parts of K, each a workgroup of its own
override MAX_T: u32 = 1; // tokens part[] holds per split (the step's largest)
const WG: u32 = 128u; // 16 row quads x 8 token quads
const BN: u32 = 64u; // rows per workgroup
const BT: u32 = 32u; // tokens per workgroup
const KC: u32 = 32u; // k values per step: whole chunks of every format (8, 16 or 32 values)

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>; // [T, K]
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>; // [N, STRIDE]: CHUNK values per vec4, k order
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [T, N]
@group(0) @binding(3) var<storage, read> counts: Counts;

@group(0) @binding(6) var<storage, read_write> part: array<f32>; // [SPLITS, MAX_T, N] (SPLITS > 1)

var<workgroup> ws: array<vec4f, KC * BN / 4u>; // [kk, row quad]: the step's weights, four rows per vec4
var<workgroup> xs: array<vec4f, KC * BT / 4u>; // [kk, token quad]: the step's x, four tokens per vec4

//! include matmul_store

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n0 = (wid.x + wid.y * nwg.x) * BN;
  let t0 = (wid.z / SPLITS) * BT;
  let split = wid.z % SPLITS;
  let steps = (STRIDE + KC / CHUNK - 1u) / (KC / CHUNK); // K steps of a row
  let per = (steps + SPLITS - 1u) / SPLITS; // K steps of a split
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (t0 >= rows) { return; }
  let rq = lid % (BN / 4u); // this thread's rows n0 + 4 rq .. + 3
  let tq = lid / (BN / 4u); // and tokens t0 + 4 tq .. + 3
  var acc: array<vec4f, 4>; // acc[i][j]: token 4 tq + i, row 4 rq + j
  for (var c0 = split * per * (KC / CHUNK); c0 < min((split + 1u) * per, steps) * (KC / CHUNK); c0 += KC / CHUNK) {
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
        // SWIGLU: row pairs (2m, 2m + 1) are j = 0, 1 or 2, 3 of one thread.
        let g = n - j % 2u;
        if (n < N) {
          if (SPLITS > 1u) {
            part[(split * MAX_T + t) * N + n] = acc[i][j] * row_scale(n);
          } else {
            store(t, n, acc[i][j] * row_scale(n), acc[i][j - j % 2u] * row_scale(min(g, N - 1u)));
          }
        }
      }
    }
  }
}

// SPLITS > 1: y[t, n] (+)= sum over splits of part[s, t, n], through the epilogue (SWIGLU: the pair's even row too).
@compute @workgroup_size(WG)
fn combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (i >= rows * N) { return; }
  let t = i / N;
  let n = i % N;
  var v = 0.0;
  var gate = 0.0;
  for (var s = 0u; s < SPLITS; s++) {
    v += part[(s * MAX_T + t) * N + n];
    if (SWIGLU) { gate += part[(s * MAX_T + t) * N + n - n % 2u]; }
  }
  store(t, n, v, gate);
}
