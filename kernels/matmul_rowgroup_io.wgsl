// The interface of the row-group linear kernels (kernels/matmul_packed.wgsl, matmul_dot.wgsl), which declare K, N,
// STRIDE and CHUNK: tile and register-array sizes, bindings 0-4 (binding 4 is the folded norm's weight, read only
// with NORM; the launcher binds any buffer there otherwise) and reading x.
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
