// Naive causal attention over the paged KV cache: one workgroup per (token, query head). Scores for all past
// positions go to a scratch row, then softmax, then the weighted sum of values. Grouped-query heads share a KV head.
override WG: u32 = 128;
override HEAD_DIM: u32;
override N_HEADS: u32;
override N_KV_HEADS: u32;
override BLOCK: u32;
override MAX_BLOCKS: u32;
override MAX_CTX: u32; // scratch row length (the model's context)

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> q: array<f32>; // [T, N_HEADS * HEAD_DIM]
@group(0) @binding(1) var<storage, read> k_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(2) var<storage, read> v_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(3) var<storage, read> positions: array<u32>; // [T]
@group(0) @binding(4) var<storage, read> slots: array<u32>; // [T]
@group(0) @binding(5) var<storage, read> block_table: array<u32>; // [slots, MAX_BLOCKS]
@group(0) @binding(6) var<storage, read_write> scores: array<f32>; // [T, N_HEADS, MAX_CTX] scratch
@group(0) @binding(7) var<storage, read_write> out: array<f32>; // [T, N_HEADS * HEAD_DIM]
@group(0) @binding(8) var<storage, read> counts: Counts;

var<workgroup> red: array<f32, WG>;

//! include kv_cache

// First cache word of KV head kvh at position p of the sequence in `slot`.
fn cache_at(slot: u32, p: u32, kvh: u32) -> u32 {
  return kv_at(block_table[slot * MAX_BLOCKS + p / BLOCK] * BLOCK + p % BLOCK, kvh);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= counts.n_tokens) { return; }
  let len = positions[t] + 1u; // causal: this token sees positions 0..pos of its own sequence
  let slot = slots[t];
  let kvh = h / (N_HEADS / N_KV_HEADS);
  let qo = (t * N_HEADS + h) * HEAD_DIM;
  let so = (t * N_HEADS + h) * MAX_CTX;
  let scale = inverseSqrt(f32(HEAD_DIM));

  var m = -3.4e38;
  for (var p = lid; p < len; p += WG) {
    let ko = cache_at(slot, p, kvh);
    var s = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) { s += q[qo + d] * k1(ko, d); }
    s *= scale;
    scores[so + p] = s;
    m = max(m, s);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var p = lid; p < len; p += WG) {
    let e = exp(scores[so + p] - mx);
    scores[so + p] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  // Scores written by other invocations must be visible before the weighted sum reads them.
  storageBarrier();
  for (var d = lid; d < HEAD_DIM; d += WG) {
    var acc = 0.0;
    for (var p = 0u; p < len; p++) {
      acc += scores[so + p] * v1(cache_at(slot, p, kvh), d);
    }
    out[qo + d] = acc * inv;
  }
}
