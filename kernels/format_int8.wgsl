// y[t, n] (+)= sum_k x[t, k] * w[n, k] with w = q * scale[n]: q int8 codes, four per u32 (k = 4 * word + byte, low
// byte first), rows padded to whole vec4<u32> chunks of 16 values, one f32 scale per row (engine/ops/quantize.ts).
// Same contract as matmul.wgsl at a quarter of its bytes. The row sum is taken over the codes and scaled once.
const CHUNK: u32 = 16u; // values per vec4<u32>
const XV: u32 = 4u; // vec4<f32> of x per chunk

@group(0) @binding(5) var<storage, read> scales: array<f32>; // [N]

// The four codes of a word (byte i in component i) as f32, exactly, for any code (unpack4x8snorm would divide by 127
// and clamp -128). Flipping each byte's sign bit turns q into q + 128 as an unsigned byte; placed in the mantissa of
// 2^23 (0x4b000000) that is the float 2^23 + q + 128, and one subtraction leaves q. This avoids the integer-to-float
// conversion instruction, which NVIDIA GPUs run at a small fraction of the FMA rate: too slow for a byte per weight.
fn decode(word: u32) -> vec4f {
  let biased = (vec4u(word ^ 0x80808080u) >> vec4u(0u, 8u, 16u, 24u)) & vec4u(0xffu);
  return bitcast<vec4f>(biased | vec4u(0x4b000000u)) - vec4f(8388736.0);
}

fn decode_chunk(c: vec4<u32>) -> array<vec4f, XV> {
  return array<vec4f, XV>(decode(c.x), decode(c.y), decode(c.z), decode(c.w));
}

fn dot_chunk(c: vec4<u32>, xc: array<vec4f, XV>) -> f32 {
  return dot(decode(c.x), xc[0]) + dot(decode(c.y), xc[1]) + dot(decode(c.z), xc[2]) + dot(decode(c.w), xc[3]);
}

// Chunks are summed unscaled; the row's scale applies once to the whole sum (row_scale).
fn chunk_scale(_n: u32, _c: u32) -> vec2f {
  return vec2f(1.0, 0.0);
}

fn chunk_x_sum(_xc: array<vec4f, XV>) -> f32 {
  return 0.0;
}

fn row_scale(n: u32) -> f32 {
  return scales[n];
}


// Integer dot products (kernels/matmul_dot.wgsl): x quantized to int8 per chunk, XQV vec4<u32> of it per chunk, in
// the order x_source gives; idot_chunk sums code * x code exactly, four bytes per dot4I8Packed.
const XQV: u32 = 1u;

fn code_centre() -> f32 {
  return 0.0;
}

// The chunk value whose x code sits in byte `b` of quantized word `i`: int8 codes are in k order.
fn x_source(i: u32, b: u32) -> u32 {
  return 4u * i + b;
}

fn idot_chunk(c: vec4<u32>, xq: array<vec4<u32>, XQV>) -> i32 {
  return dot4I8Packed(c.x, xq[0].x) + dot4I8Packed(c.y, xq[0].y) + dot4I8Packed(c.z, xq[0].z) +
    dot4I8Packed(c.w, xq[0].w);
}
