// Writing one KV head of one position into the paged KV cache in its --kv-cache format (layouts in
// kernels/kv_cache.wgsl, which this includes; the including kernel binds k_cache and v_cache as read_write
// array<u32> and declares HEAD_DIM and N_KV_HEADS). The writer fills `head` with the head's values, then calls
// store_head. One invocation writes a whole head: int8 needs the head's absmax before its first byte, and two f16
// halves of one word must come from one invocation.
//! include kv_cache

const MAX_HEAD_DIM: u32 = 256u;
var<private> head: array<f32, MAX_HEAD_DIM>;

fn put(i: u32, word: u32, to_v: bool) {
  if (to_v) { v_cache[i] = word; } else { k_cache[i] = word; }
}

// Stores head[0 .. HEAD_DIM] at word `at` (kv_at) of the K cache, or of the V cache when to_v.
fn store_head(at: u32, to_v: bool) {
  if (KV_FORMAT == 1u) {
    for (var i = 0u; i < HEAD_DIM / 2u; i++) { put(at + i, pack2x16float(vec2f(head[2u * i], head[2u * i + 1u])), to_v); }
    return;
  }
  if (KV_FORMAT == 2u) {
    var absmax = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) { absmax = max(absmax, abs(head[d])); }
    let inv = select(0.0, 1.0 / absmax, absmax > 0.0);
    for (var i = 0u; i < HEAD_DIM / 4u; i++) {
      let x = vec4f(head[4u * i], head[4u * i + 1u], head[4u * i + 2u], head[4u * i + 3u]);
      put(at + i, pack4x8snorm(x * inv), to_v);
    }
    put(at + HEAD_DIM / 4u, bitcast<u32>(absmax), to_v);
    return;
  }
  for (var d = 0u; d < HEAD_DIM; d++) { put(at + d, bitcast<u32>(head[d]), to_v); }
}
