// Flash attention over the paged KV cache for GPUs: one workgroup per (query head, token, split of the positions).
// A token's context is cut into at most MAX_SPLITS splits (flash-decoding: a single decode token still spreads
// over heads x splits workgroups), each a multiple of SPLIT_ALIGN positions long, so short contexts are one split,
// written directly, and long ones are merged by `combine` from each split's (max m, sum l, unnormalised output).
// Within a split, positions go in tiles of WG: scores one position per thread (q staged in workgroup memory), an
// online softmax across tiles (the running output is rescaled by exp(m_old - m_new) when the max grows), then the
// weighted sum of values with every thread busy: G = WG / HEAD_DIM groups of a thread per dimension, group g taking
// positions g, g + G, ... (each position's value row read coalesced), the groups' sums added once at the end.
override WG: u32 = 128; // positions per tile, at least HEAD_DIM / MAX_DIMS
override HEAD_DIM: u32; // a multiple of 4, at most 4 * MAX_D4
override N_HEADS: u32;
override N_KV_HEADS: u32;
override BLOCK: u32;
override MAX_BLOCKS: u32;
override MAX_SPLITS: u32 = 16u; // splits per (head, token), the grid's z
override SPLIT_ALIGN: u32 = 32u; // split lengths are multiples of this
const MAX_D4: u32 = 64u;
const MAX_DIMS: u32 = 4u; // head dimensions per thread when WG < HEAD_DIM

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

// Positions per split of a context of `len` positions: at most MAX_SPLITS splits.
fn split_len(len: u32) -> u32 {
  let even = (len + MAX_SPLITS - 1u) / MAX_SPLITS;
  return max(SPLIT_ALIGN, (even + SPLIT_ALIGN - 1u) / SPLIT_ALIGN * SPLIT_ALIGN);
}

fn n_splits(len: u32) -> u32 {
  return (len + split_len(len) - 1u) / split_len(len);
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
  let p0 = s * split_len(len);
  if (p0 >= len) { return; }
  let p1 = min(len, p0 + split_len(len));
  let D4 = HEAD_DIM / 4u;
  let kvh = h / (N_HEADS / N_KV_HEADS);
  let table = slots[t] * MAX_BLOCKS;
  let scale = inverseSqrt(f32(HEAD_DIM));
  for (var i = lid; i < D4; i += WG) { qs[i] = q[(t * N_HEADS + h) * D4 + i] * scale; }
  workgroupBarrier();
  // Value pass layout: G groups of DT threads, thread (g, d) owns dimensions d, d + DT, ... of positions g + G j.
  let DT = min(HEAD_DIM, WG);
  let G = WG / DT;
  let g = lid / DT;
  let d0 = lid % DT;

  var m = -3.4e38;
  var l = 0.0; // this group's share of the sum of weights
  var acc = array<f32, MAX_DIMS>();
  for (var tile = p0; tile < p1; tile += WG) {
    let p = tile + lid;
    var score = -3.4e38;
    var at = 0u;
    if (p < p1) {
      at = kv_at(block_table[table + p / BLOCK] * BLOCK + p % BLOCK, kvh);
      var dot_qk = 0.0;
      for (var i = 0u; i < D4; i++) { dot_qk += dot(qs[i], k4(at, i)); }
      score = dot_qk;
    }
    rows[lid] = at;
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
    if (g < G) {
      l *= correction;
      for (var k = 0u; k < MAX_DIMS; k++) { acc[k] *= correction; }
      for (var j = g; j < n; j += G) {
        let e = weights[j];
        l += e;
        for (var k = 0u; k < MAX_DIMS; k++) {
          let d = d0 + k * DT;
          if (d < HEAD_DIM) { acc[k] += e * v1(rows[j], d); }
        }
      }
    }
    m = m_new;
    workgroupBarrier(); // the next tile overwrites red, weights and rows
  }

  // Add the groups' sums: group g > 0 leaves its output and l in workgroup memory for group 0.
  if (G > 1u) {
    if (g < G) {
      red[lid] = acc[0];
      if (d0 == 0u) { weights[g] = l; }
    }
    workgroupBarrier();
    if (g == 0u) {
      for (var o = 1u; o < G; o++) {
        acc[0] += red[o * DT + d0];
        l += weights[o];
      }
    }
  }
  if (g != 0u) { return; }
  if (n_splits(len) == 1u) {
    for (var k = 0u; k < MAX_DIMS; k++) {
      let d = d0 + k * DT;
      if (d < HEAD_DIM) { out[(t * N_HEADS + h) * HEAD_DIM + d] = acc[k] / l; }
    }
    return;
  }
  let base = partial_at(t, h, s);
  for (var k = 0u; k < MAX_DIMS; k++) {
    let d = d0 + k * DT;
    if (d < HEAD_DIM) { partial[base + d] = acc[k]; }
  }
  if (d0 == 0u) {
    partial[base + HEAD_DIM] = m;
    partial[base + HEAD_DIM + 1u] = l;
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
