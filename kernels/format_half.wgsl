// y[t, n] (+)= sum_k x[t, k] * w[n, k] with w stored as 16-bit floats, two per u32 (even k in the low half), rows
// padded to whole vec4<u32> chunks of 8 values (engine/ops/f16.ts): f16, or bf16 with BF16. Same contract as
// matmul.wgsl, reading half its bytes, arithmetic in f32: unpack2x16float needs no shader-f16 feature, and a bf16 is
// the top half of an f32, so a shift (low half) or a mask (high half) and a bitcast decode it exactly.
override BF16: bool = false;
const CHUNK: u32 = 8u; // values per vec4<u32>
const XV: u32 = 2u; // vec4<f32> of x per chunk

fn decode(word: u32) -> vec2f {
  if (BF16) { return bitcast<vec2f>(vec2u(word << 16u, word & 0xffff0000u)); }
  return unpack2x16float(word);
}

fn decode_chunk(c: vec4<u32>) -> array<vec4f, XV> {
  return array<vec4f, XV>(vec4f(decode(c.x), decode(c.y)), vec4f(decode(c.z), decode(c.w)));
}

fn dot_chunk(c: vec4<u32>, xc: array<vec4f, XV>) -> f32 {
  return dot(vec4f(decode(c.x), decode(c.y)), xc[0]) + dot(vec4f(decode(c.z), decode(c.w)), xc[1]);
}

// No scales: the values are the weights.
fn chunk_scale(_n: u32, _c: u32) -> vec2f {
  return vec2f(1.0, 0.0);
}

fn chunk_x_sum(_xc: array<vec4f, XV>) -> f32 {
  return 0.0;
}

fn row_scale(_n: u32) -> f32 {
  return 1.0;
}

