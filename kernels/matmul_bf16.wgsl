// y[t, n] (+)= sum_k x[t, k] * w[n, k] with w stored as bf16, two per u32 (even k in the low half), rows padded to
// whole vec4<u32> chunks of 8 values (engine/ops/f16.ts). Same contract as matmul.wgsl, reading half its bytes:
// a bf16 is the top half of an f32, so a shift (low half) or a mask (high half) and a bitcast decode it exactly.
// Threads: LANES per row group read consecutive 16-byte chunks of the same rows (coalesced); each thread keeps ROWS
// rows, so every x value it loads serves ROWS rows (decode reads x far more often than any one weight); LANES = 1
// gives a thread whole rows with no barriers, which suits CPUs (lavapipe). Each workgroup covers up to TT tokens,
// so a weight is read once per TT tokens. ACCUMULATE adds into y (the residual add is free).
override WG: u32 = 128;
override LANES: u32 = 32; // threads per row group: a power of two dividing WG
override ROWS: u32 = 1; // output rows per thread, 1..MAX_ROWS
override K: u32; // input features
override N: u32; // output features
override STRIDE: u32; // vec4<u32> chunks per packed row: ceil(K / CHUNK)
override ACCUMULATE: bool = false;
override USE_OUT_COUNT: bool = false; // rows = counts.n_out (classifier) instead of counts.n_tokens
const TT: u32 = 8u;
const MAX_ROWS: u32 = 4u;
const CHUNK: u32 = 8u; // values per vec4<u32>
const XV: u32 = 2u; // vec4<f32> of x per chunk

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>; // [T, K]
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>; // [N, STRIDE]: 8 bf16 per vec4, k order
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [T, N]
@group(0) @binding(3) var<storage, read> counts: Counts;

var<workgroup> partial: array<f32, WG * TT>; // [token, thread] partial sums of one row per row group

// x[t, k .. k + CHUNK), zero past K: the last chunk of a row is padding there, and its products must vanish.
fn x_chunk(t: u32, k: u32) -> array<vec4f, XV> {
  var v: array<vec4f, XV>;
  let i = t * K + k;
  if (k + CHUNK <= K) {
    for (var q = 0u; q < XV; q++) {
      let b = i + 4u * q;
      v[q] = vec4f(x[b], x[b + 1u], x[b + 2u], x[b + 3u]);
    }
  } else {
    for (var e = 0u; e < CHUNK; e++) {
      if (k + e < K) { v[e / 4u][e % 4u] = x[i + e]; }
    }
  }
  return v;
}

// Values 2i (low half) and 2i + 1 (high half) of word i, as f32.
fn bf16x2(word: u32) -> vec2f {
  return bitcast<vec2f>(vec2u(word << 16u, word & 0xffff0000u));
}

fn dot_chunk(c: vec4<u32>, xs: array<vec4f, XV>) -> f32 {
  return dot(vec4f(bf16x2(c.x), bf16x2(c.y)), xs[0]) + dot(vec4f(bf16x2(c.z), bf16x2(c.w)), xs[1]);
}

fn store(t: u32, n: u32, v: f32) {
  let o = t * N + n;
  if (ACCUMULATE) { y[o] += v; } else { y[o] = v; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // Row groups are folded over x and y because one dispatch dimension stops at 65535 (vocabularies are larger).
  let lane = lid % LANES;
  let n0 = ((wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES) * ROWS; // this thread's rows: n0 .. n0 + ROWS
  let t0 = wid.z * TT;
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (t0 >= rows) { return; }
  let nt = min(TT, rows - t0);
  var acc: array<f32, TT * MAX_ROWS>; // [row r, token j]
  if (n0 < N) {
    for (var c = lane; c < STRIDE; c += LANES) {
      var wc: array<vec4<u32>, MAX_ROWS>;
      for (var r = 0u; r < ROWS; r++) { wc[r] = w[min(n0 + r, N - 1u) * STRIDE + c]; } // rows past N: never stored
      for (var j = 0u; j < TT; j++) {
        if (j < nt) {
          let xs = x_chunk(t0 + j, c * CHUNK);
          for (var r = 0u; r < ROWS; r++) { acc[r * TT + j] += dot_chunk(wc[r], xs); }
        }
      }
    }
  }
  if (LANES == 1u) {
    for (var r = 0u; r < ROWS; r++) {
      if (n0 + r < N) {
        for (var j = 0u; j < nt; j++) { store(t0 + j, n0 + r, acc[r * TT + j]); }
      }
    }
    return;
  }
  for (var r = 0u; r < ROWS; r++) {
    for (var j = 0u; j < nt; j++) { partial[j * WG + lid] = acc[r * TT + j]; }
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
      if (lane < s) {
        for (var j = 0u; j < nt; j++) { partial[j * WG + lid] += partial[j * WG + lid + s]; }
      }
      workgroupBarrier();
    }
    if (n0 + r < N) {
      for (var j = lane; j < nt; j += LANES) { store(t0 + j, n0 + r, partial[j * WG + lid - lane]); }
    }
    workgroupBarrier(); // the next row overwrites partial
  }
}
