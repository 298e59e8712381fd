// The interface of the row-group linear kernels (kernels/matmul_packed.wgsl, matmul_dot.wgsl), which declare K, N,
// STRIDE, CHUNK, LANES, ROWS, UNROLL and the format's chunk_scale: tile and register-array sizes, bindings 0-4
// (binding 4 is the folded norm's weight, read only with NORM; the launcher binds any buffer there otherwise),
// reading x and loading a round of weights.
const TT: u32 = 8u; // tokens per workgroup
const MAX_ROWS: u32 = 4u; // register arrays are sized statically: ROWS and UNROLL at most these
const MAX_UNROLL: u32 = 4u;

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>; // [T, K]
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>; // [N, STRIDE]: CHUNK values per vec4, k order
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [T, N]
@group(0) @binding(3) var<storage, read> counts: Counts;
@group(0) @binding(4) var<storage, read> norm_w: array<f32>; // [K]

// x[t, k], zero past K: the end of the last chunk of a row is padding, and its products must vanish.
fn x_at(t: u32, k: u32) -> f32 {
  return select(0.0, x[t * K + min(k, K - 1u)], k < K);
}

// The weight chunks c1, c1 + LANES, ... (UNROLL of them) of the slice at chunk c0, rows n0 .. n0 + ROWS, and their
// chunk scales.
fn load_round(c0: u32, c1: u32, chunks: u32, n0: u32, wc: ptr<function, array<vec4<u32>, MAX_UNROLL * MAX_ROWS>>,
              sm: ptr<function, array<vec2f, MAX_UNROLL * MAX_ROWS>>) {
  for (var u = 0u; u < UNROLL; u++) {
    let c = min(c1 + u * LANES, chunks - 1u); // past the slice: loaded, never used
    for (var r = 0u; r < ROWS; r++) {
      let n = min(n0 + r, N - 1u); // rows past N: computed, never stored
      (*wc)[u * MAX_ROWS + r] = w[n * STRIDE + c0 + c];
      (*sm)[u * MAX_ROWS + r] = chunk_scale(n, c0 + c);
    }
  }
}
