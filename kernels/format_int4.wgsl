// y[t, n] (+)= sum_k x[t, k] * w[n, k] with w = scale * q + min per group of 32/64/128 consecutive k: q 4-bit codes,
// eight per u32 (k = 8 * word + i in bits 4i..4i+3), rows padded to whole vec4<u32> chunks of 32 values, so a chunk
// lies in one group (engine/ops/quantize.ts). Symmetric groups store the scale only (codes are q + 8); asymmetric
// ones (scale, min) pairs. Per chunk the kernel sums x * code and applies the group's scale once:
// sum x*w = scale * sum x*(code - 8) (symmetric) or scale * sum x*code + min * sum x (asymmetric).
// Same contract as matmul.wgsl at about an eighth of its bytes.
override GROUPS: u32; // groups per row: ceil(K / group size)
override CHUNKS_PER_GROUP: u32; // group size / CHUNK: 1, 2 or 4
override ASYM: bool = false;
const CHUNK: u32 = 32u; // values per vec4<u32>
const XV: u32 = 8u; // vec4<f32> of x per chunk

@group(0) @binding(5) var<storage, read> scales: array<f32>; // [N, GROUPS] or, ASYM, [N, GROUPS, 2] (scale, min)

// (scale, min) of the group holding chunk c of row n; symmetric groups need no min (their codes are re-centred).
fn chunk_scale(n: u32, c: u32) -> vec2f {
  let g = n * GROUPS + c / CHUNKS_PER_GROUP;
  if (ASYM) { return vec2f(scales[2u * g], scales[2u * g + 1u]); }
  return vec2f(scales[g], 0.0);
}

// Four codes of a word, from bit `first` up, as f32 minus the centre (8 symmetric, 0 asymmetric). A code placed in the
// mantissa of 2^23 (0x4b000000) is the float 2^23 + code, so one subtraction converts it exactly, without the
// integer-to-float instruction that NVIDIA GPUs run at a small fraction of the FMA rate (too slow for 8 weights a word).
fn decode(word: u32, first: u32) -> vec4f {
  let codes = (vec4u(word) >> (vec4u(0u, 4u, 8u, 12u) + first)) & vec4u(15u);
  return bitcast<vec4f>(codes | vec4u(0x4b000000u)) - select(8388616.0, 8388608.0, ASYM);
}

// sum x * (code - centre) over a chunk: scale (and min) are applied by the caller.
fn decode_chunk(c: vec4<u32>) -> array<vec4f, XV> {
  return array<vec4f, XV>(decode(c.x, 0u), decode(c.x, 16u), decode(c.y, 0u), decode(c.y, 16u), decode(c.z, 0u),
    decode(c.z, 16u), decode(c.w, 0u), decode(c.w, 16u));
}

fn dot_chunk(c: vec4<u32>, xc: array<vec4f, XV>) -> f32 {
  return dot(decode(c.x, 0u), xc[0]) + dot(decode(c.x, 16u), xc[1]) + dot(decode(c.y, 0u), xc[2]) +
    dot(decode(c.y, 16u), xc[3]) + dot(decode(c.z, 0u), xc[4]) + dot(decode(c.z, 16u), xc[5]) +
    dot(decode(c.w, 0u), xc[6]) + dot(decode(c.w, 16u), xc[7]);
}

// sum x over a chunk, for the min of asymmetric groups (symmetric ones have none).
fn chunk_x_sum(xc: array<vec4f, XV>) -> f32 {
  if (!ASYM) { return 0.0; }
  return dot(xc[0] + xc[1] + xc[2] + xc[3] + xc[4] + xc[5] + xc[6] + xc[7], vec4f(1.0));
}

fn row_scale(_n: u32) -> f32 {
  return 1.0;
}


// Integer dot products (kernels/matmul_dot.wgsl): x quantized to int8 per chunk, two vec4<u32> of it per chunk.
// Masking a word with 0x0f0f0f0f leaves its even codes (k = 8j, 8j+2, 8j+4, 8j+6) one per byte, and shifting it by 4
// first the odd ones: two instructions turn 8 codes into bytes that dot4I8Packed multiplies by x codes arranged to
// match (plane 0 the even k, plane 1 the odd). Codes are unsigned 0..15, which as signed bytes are themselves.
const XQV: u32 = 2u;

// What idot_chunk's codes are offset by: symmetric codes are q + 8.
fn code_centre() -> f32 {
  return select(8.0, 0.0, ASYM);
}

// The chunk value whose x code sits in byte `b` of quantized word `i` (plane i / 4, word j = i % 4).
fn x_source(i: u32, b: u32) -> u32 {
  return 8u * (i % 4u) + 2u * b + i / 4u;
}

fn idot_chunk(c: vec4<u32>, xq: array<vec4<u32>, XQV>) -> i32 {
  let m = 0x0f0f0f0fu;
  return dot4I8Packed(c.x & m, xq[0].x) + dot4I8Packed((c.x >> 4u) & m, xq[1].x) + dot4I8Packed(c.y & m, xq[0].y) +
    dot4I8Packed((c.y >> 4u) & m, xq[1].y) + dot4I8Packed(c.z & m, xq[0].z) + dot4I8Packed((c.z >> 4u) & m, xq[1].z) +
    dot4I8Packed(c.w & m, xq[0].w) + dot4I8Packed((c.w >> 4u) & m, xq[1].w);
}
