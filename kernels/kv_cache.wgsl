// Reading the paged KV cache in its --kv-cache format (included by the attention kernels, which bind k_cache and
// v_cache as array<u32> and declare HEAD_DIM and N_KV_HEADS). A cache row holds one position of every KV head;
// a head's slot is KV_HEAD_WORDS u32 words:
//   f32  (KV_FORMAT 0): HEAD_DIM words, the float bits
//   f16  (KV_FORMAT 1): HEAD_DIM / 2 words, two halves per word, even dimension in the low half (pack2x16float)
//   int8 (KV_FORMAT 2): HEAD_DIM / 4 words of four snorm bytes (pack4x8snorm of x / absmax, dimension 4i + j in
//                       byte j), then one word: absmax as f32 bits. Per (position, head) scales keep one outlier
//                       token from flattening the rest; the scale sits beside the codes so no extra binding.
override KV_FORMAT: u32 = 0u;

fn kv_head_words() -> u32 {
  if (KV_FORMAT == 1u) { return HEAD_DIM / 2u; }
  if (KV_FORMAT == 2u) { return HEAD_DIM / 4u + 1u; }
  return HEAD_DIM;
}

// First word of KV head kvh at cache row `row` (= block * BLOCK + position % BLOCK).
fn kv_at(row: u32, kvh: u32) -> u32 {
  return (row * N_KV_HEADS + kvh) * kv_head_words();
}

// Dimensions 4i .. 4i + 3 of the K (or V) head slot starting at word `at`.
fn k4(at: u32, i: u32) -> vec4f {
  if (KV_FORMAT == 1u) {
    return vec4f(unpack2x16float(k_cache[at + 2u * i]), unpack2x16float(k_cache[at + 2u * i + 1u]));
  }
  if (KV_FORMAT == 2u) { return unpack4x8snorm(k_cache[at + i]) * bitcast<f32>(k_cache[at + HEAD_DIM / 4u]); }
  let w = at + 4u * i;
  return bitcast<vec4f>(vec4u(k_cache[w], k_cache[w + 1u], k_cache[w + 2u], k_cache[w + 3u]));
}

fn v4(at: u32, i: u32) -> vec4f {
  if (KV_FORMAT == 1u) {
    return vec4f(unpack2x16float(v_cache[at + 2u * i]), unpack2x16float(v_cache[at + 2u * i + 1u]));
  }
  if (KV_FORMAT == 2u) { return unpack4x8snorm(v_cache[at + i]) * bitcast<f32>(v_cache[at + HEAD_DIM / 4u]); }
  let w = at + 4u * i;
  return bitcast<vec4f>(vec4u(v_cache[w], v_cache[w + 1u], v_cache[w + 2u], v_cache[w + 3u]));
}

// Dimension d alone.
fn k1(at: u32, d: u32) -> f32 {
  if (KV_FORMAT == 1u) { return unpack2x16float(k_cache[at + d / 2u])[d % 2u]; }
  if (KV_FORMAT == 2u) { return unpack4x8snorm(k_cache[at + d / 4u])[d % 4u] * bitcast<f32>(k_cache[at + HEAD_DIM / 4u]); }
  return bitcast<f32>(k_cache[at + d]);
}

fn v1(at: u32, d: u32) -> f32 {
  if (KV_FORMAT == 1u) { return unpack2x16float(v_cache[at + d / 2u])[d % 2u]; }
  if (KV_FORMAT == 2u) { return unpack4x8snorm(v_cache[at + d / 4u])[d % 4u] * bitcast<f32>(v_cache[at + HEAD_DIM / 4u]); }
  return bitcast<f32>(v_cache[at + d]);
}
