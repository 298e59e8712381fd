// Flash attention for CPU adapters (lavapipe): one invocation per (token, query head), one pass over the paged KV
// cache with an online softmax (running max m, running sum l, output rescaled by exp(m_old - m_new) when the max
// grows), so no scores scratch, no second pass and no barriers: on a CPU every barrier of the naive kernel costs
// each workgroup ~10 us whatever its work. The invocations of a workgroup are consecutive heads (llvmpipe's SIMD
// lanes), mostly of one token, so they walk the same positions together.
override WG: u32 = 8;
override HEAD_DIM: u32; // a multiple of 4, at most 4 * MAX_D4
override N_HEADS: u32;
override N_KV_HEADS: u32;
override BLOCK: u32;
override MAX_BLOCKS: u32;
const MAX_D4: u32 = 64u;

//! include kv_cache

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> q: array<vec4f>; // [T, N_HEADS * HEAD_DIM / 4]
@group(0) @binding(1) var<storage, read> k_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(2) var<storage, read> v_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(3) var<storage, read> positions: array<u32>; // [T]
@group(0) @binding(4) var<storage, read> slots: array<u32>; // [T]
@group(0) @binding(5) var<storage, read> block_table: array<u32>; // [slots, MAX_BLOCKS]
@group(0) @binding(6) var<storage, read_write> out: array<vec4f>; // [T, N_HEADS * HEAD_DIM / 4]
@group(0) @binding(7) var<storage, read> counts: Counts;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let total = counts.n_tokens * N_HEADS;
  // Invocations past the last (token, head) redo it and store nothing (no divergent early exit).
  let th = min(i, total - 1u);
  let t = th / N_HEADS;
  let h = th % N_HEADS;
  let D4 = HEAD_DIM / 4u;
  let qo = th * D4;
  let kvh = h / (N_HEADS / N_KV_HEADS);
  let scale = inverseSqrt(f32(HEAD_DIM));
  var qv: array<vec4f, MAX_D4>;
  for (var d = 0u; d < D4; d++) { qv[d] = q[qo + d] * scale; }
  var acc: array<vec4f, MAX_D4>;
  var m = -3.4e38;
  var l = 0.0;
  let len = positions[t] + 1u; // causal: positions 0..pos of this token's sequence
  let table = slots[t] * MAX_BLOCKS;
  for (var p = 0u; p < len; p++) {
    let at = kv_at(block_table[table + p / BLOCK] * BLOCK + p % BLOCK, kvh);
    var s = 0.0;
    for (var d = 0u; d < D4; d++) { s += dot(qv[d], k4(at, d)); }
    let m_new = max(m, s);
    let correction = exp(m - m_new);
    let e = exp(s - m_new);
    l = l * correction + e;
    for (var d = 0u; d < D4; d++) { acc[d] = acc[d] * correction + e * v4(at, d); }
    m = m_new;
  }
  if (i < total) {
    let inv = 1.0 / l;
    for (var d = 0u; d < D4; d++) { out[qo + d] = acc[d] * inv; }
  }
}
