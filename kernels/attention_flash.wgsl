// Flash attention over the paged KV cache for GPUs: one workgroup per (query head, token, split of the positions).
// The split's positions are walked in tiles of WG, one position per thread for the scores (q staged in workgroup
// memory), with an online softmax across tiles (running max m and sum l; the output is rescaled by exp(m_old -
// m_new) when the max grows), so scores never leave the workgroup. The weighted sum of values runs with a thread per
// head dimension, reading each position's value row coalesced. Long contexts are split over up to MAX_SPLITS
// workgroups (flash-decoding: a single decode token still fills the GPU); `combine` then merges the splits' partial
// (m, l, unnormalised output). A token whose context fits one split is written directly and skipped by `combine`.
override WG: u32 = 128; // positions per tile, at least HEAD_DIM / MAX_DIMS
override HEAD_DIM: u32; // a multiple of 4, at most 4 * MAX_D4
override N_HEADS: u32;
override N_KV_HEADS: u32;
override BLOCK: u32;
override MAX_BLOCKS: u32;
override SPLIT: u32; // positions per split, a multiple of WG
override MAX_SPLITS: u32; // splits per (head, token): ceil(context / SPLIT)
const MAX_D4: u32 = 64u;
const MAX_DIMS: u32 = 4u; // head dimensions per thread in the value pass

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> q: array<vec4f>; // [T, N_HEADS * HEAD_DIM / 4]
@group(0) @binding(1) var<storage, read> k_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(2) var<storage, read> v_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(3) var<storage, read> positions: array<u32>; // [T]
@group(0) @binding(4) var<storage, read> slots: array<u32>; // [T]
@group(0) @binding(5) var<storage, read> block_table: array<u32>; // [slots, MAX_BLOCKS]
@group(0) @binding(6) var<storage, read_write> partial: array<f32>; // [T, N_HEADS, MAX_SPLITS, HEAD_DIM + 2]
@group(0) @binding(7) var<storage, read_write> out: array<f32>; // [T, N_HEADS * HEAD_DIM]
@group(0) @binding(8) var<storage, read> counts: Counts;

var<workgroup> qs: array<vec4f, MAX_D4>;
var<workgroup> red: array<f32, WG>;
var<workgroup> weights: array<f32, WG>; // exp(score - m) of the tile's positions
var<workgroup> rows: array<u32, WG>; // each tile position's first cache word (this KV head)

//! include kv_cache

fn n_splits(len: u32) -> u32 {
  return (len + SPLIT - 1u) / SPLIT;
}

fn partial_at(t: u32, h: u32, s: u32) -> u32 {
  return ((t * N_HEADS + h) * MAX_SPLITS + s) * (HEAD_DIM + 2u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let s = wid.z;
  if (t >= counts.n_tokens) { return; }
  let len = positions[t] + 1u; // causal: positions 0..pos of this token's sequence
  let p0 = s * SPLIT;
  if (p0 >= len) { return; }
  let p1 = min(len, p0 + SPLIT);
  let D4 = HEAD_DIM / 4u;
  let kvh = h / (N_HEADS / N_KV_HEADS);
  let table = slots[t] * MAX_BLOCKS;
  let scale = inverseSqrt(f32(HEAD_DIM));
  for (var i = lid; i < D4; i += WG) { qs[i] = q[(t * N_HEADS + h) * D4 + i] * scale; }
  workgroupBarrier();

  var m = -3.4e38;
  var l = 0.0;
  var acc = array<f32, MAX_DIMS>();
  for (var tile = p0; tile < p1; tile += WG) {
    let p = tile + lid;
    var score = -3.4e38;
    var row = 0u;
    if (p < p1) {
      row = kv_at(block_table[table + p / BLOCK] * BLOCK + p % BLOCK, kvh);
      var dot_qk = 0.0;
      for (var i = 0u; i < D4; i++) { dot_qk += dot(qs[i], k4(row, i)); }
      score = dot_qk;
    }
    rows[lid] = row;
    red[lid] = score;
    workgroupBarrier();
    for (var r = WG / 2u; r > 0u; r >>= 1u) {
      if (lid < r) { red[lid] = max(red[lid], red[lid + r]); }
      workgroupBarrier();
    }
    let m_new = max(m, red[0]);
    let correction = exp(m - m_new);
    weights[lid] = select(0.0, exp(score - m_new), p < p1);
    workgroupBarrier();
    let n = min(WG, p1 - tile);
    var sum = 0.0;
    for (var j = 0u; j < n; j++) { sum += weights[j]; }
    l = l * correction + sum;
    for (var k = 0u; k < MAX_DIMS; k++) {
      let d = lid + k * WG;
      if (d < HEAD_DIM) {
        var a = acc[k] * correction;
        for (var j = 0u; j < n; j++) { a += weights[j] * v1(rows[j], d); }
        acc[k] = a;
      }
    }
    m = m_new;
    workgroupBarrier(); // the next tile overwrites red, weights and rows
  }

  if (n_splits(len) == 1u) {
    for (var k = 0u; k < MAX_DIMS; k++) {
      let d = lid + k * WG;
      if (d < HEAD_DIM) { out[(t * N_HEADS + h) * HEAD_DIM + d] = acc[k] / l; }
    }
    return;
  }
  let at = partial_at(t, h, s);
  for (var k = 0u; k < MAX_DIMS; k++) {
    let d = lid + k * WG;
    if (d < HEAD_DIM) { partial[at + d] = acc[k]; }
  }
  if (lid == 0u) {
    partial[at + HEAD_DIM] = m;
    partial[at + HEAD_DIM + 1u] = l;
  }
}

// Merges the splits of tokens whose context needed more than one: out = sum_s e_s acc_s / sum_s e_s l_s with
// e_s = exp(m_s - max_s m_s). One workgroup per (head, token), a thread per head dimension.
@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= counts.n_tokens) { return; }
  let ns = n_splits(positions[t] + 1u);
  if (ns == 1u) { return; }
  var m = -3.4e38;
  for (var s = 0u; s < ns; s++) { m = max(m, partial[partial_at(t, h, s) + HEAD_DIM]); }
  var l = 0.0;
  for (var s = 0u; s < ns; s++) {
    let at = partial_at(t, h, s);
    l += exp(partial[at + HEAD_DIM] - m) * partial[at + HEAD_DIM + 1u];
  }
  for (var d = lid; d < HEAD_DIM; d += WG) {
    var a = 0.0;
    for (var s = 0u; s < ns; s++) {
      let at = partial_at(t, h, s);
      a += exp(partial[at + HEAD_DIM] - m) * partial[at + d];
    }
    out[(t * N_HEADS + h) * HEAD_DIM + d] = a / l;
  }
}
