// Flash attention over the paged KV cache for GPUs: one workgroup per (group of GROUP query heads, token, split of
// the positions). The heads of a group share one KV head (grouped-query attention), so each key and value row is
// read once for all of them: llama-1b's 4 query heads per KV head re-read every row 4 times, one workgroup per head,
// and at 128 sequences attention was a quarter of the step, bound by those reads.
// A token's context is cut into at most MAX_SPLITS splits (flash-decoding: a single decode token still spreads
// over groups x splits workgroups), each a multiple of SPLIT_ALIGN positions long, so short contexts are one split,
// written directly, and long ones are merged by `combine` from each split's (max m, sum l, unnormalised output).
// Within a split, positions go in tiles of WG / PARTS, every thread busy in both phases:
//   scores   PARTS threads per position, each taking every PARTS-th vec4 of the key, so the threads of a position
//            read its key row coalesced and a dot product is PARTS short chains, not one long one (a thread walking
//            a 128-dimension key alone made the kernel latency-bound); the parts meet in workgroup memory;
//   values   an online softmax across tiles (the running output is rescaled by exp(m_old - m_new) when the max
//            grows), then G = WG / (HEAD_DIM / 4) groups of a thread per vec4 of the head, group g taking
//            positions g, g + G, ... (each value row read coalesced, once for the GROUP heads); the groups' sums
//            are added once at the end.
override WG: u32 = 256; // at least HEAD_DIM / 4
override HEAD_DIM: u32; // a multiple of 4, at most 4 * MAX_D4
override N_HEADS: u32;
override N_KV_HEADS: u32;
override BLOCK: u32;
override MAX_BLOCKS: u32;
override MAX_SPLITS: u32 = 16u; // splits per (head, token), the grid's z
override SPLIT_ALIGN: u32 = 32u; // split lengths are multiples of this
// Fewer splits when the step's heads x tokens already make this many workgroups (0: no cap): engine/ops/attention.ts
// SPLIT_TARGET says why; its grid caps them the same way.
override SPLIT_TARGET: u32 = 0u;
const MAX_D4: u32 = 64u;
override PARTS: u32 = 8u; // threads per position in the score phase, dividing WG
// Query heads per workgroup, sharing a KV head: 1, 2 or 4, dividing N_HEADS / N_KV_HEADS. A head's state is one
// lane of a vec4 (the max, the sum of weights, its scores) or one of four accumulators, not an array indexed in a
// loop: such arrays may live in memory rather than registers.
override GROUP: u32 = 1u;
const MAX_GROUP: u32 = 4u;

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

var<workgroup> qs: array<vec4f, MAX_D4 * MAX_GROUP>; // [head of the group, vec4]
var<workgroup> dots: array<vec4f, WG>; // [position, part] each part's share of q . k, a lane per head
var<workgroup> scores: array<vec4f, WG / PARTS>; // the tile's scores, a lane per head
var<workgroup> rows: array<u32, WG / PARTS>; // each tile position's first cache word (this KV head)
var<workgroup> sums: array<vec4f, WG>; // [group, vec4] each group's output, added at the end
var<workgroup> group_l: array<f32, WG>; // each group's sum of weights

//! include kv_cache

// Splits a (head, token) may use in this step.
fn max_splits() -> u32 {
  if (SPLIT_TARGET == 0u) { return MAX_SPLITS; }
  return clamp(SPLIT_TARGET / (N_HEADS / GROUP * counts.n_tokens), 1u, MAX_SPLITS);
}

// Positions per split of a context of `len` positions: at most max_splits() splits.
fn split_len(len: u32) -> u32 {
  let ms = max_splits();
  let even = (len + ms - 1u) / ms;
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
  let h0 = wid.x * GROUP; // the group's first head
  let t = wid.y;
  let s = wid.z;
  if (t >= counts.n_tokens) { return; }
  let len = positions[t] + 1u; // causal: positions 0..pos of this token's sequence
  let p0 = s * split_len(len);
  if (p0 >= len) { return; }
  let p1 = min(len, p0 + split_len(len));
  let D4 = HEAD_DIM / 4u;
  let kvh = h0 / (N_HEADS / N_KV_HEADS);
  let table = slots[t] * MAX_BLOCKS;
  let scale = inverseSqrt(f32(HEAD_DIM));
  // The group's heads are consecutive in q.
  for (var i = lid; i < D4 * GROUP; i += WG) { qs[i] = q[(t * N_HEADS + h0) * D4 + i] * scale; }
  workgroupBarrier();
  let TILE = WG / PARTS;
  let j = lid / PARTS; // score phase: this thread's position in the tile and its part of the key
  let part = lid % PARTS;
  let G = WG / D4; // value phase: group g, vec4 c of the head
  let g = lid / D4;
  let c = lid % D4;

  // Per head of the group, a lane or an accumulator each (the same in every thread: m; this group's shares: l, acc).
  var m = vec4f(-3.4e38);
  var l = vec4f(0.0);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var tile = p0; tile < p1; tile += TILE) {
    let p = tile + j;
    var at = 0u;
    var dot_qk = vec4f(0.0);
    if (p < p1) {
      at = kv_at(block_table[table + p / BLOCK] * BLOCK + p % BLOCK, kvh);
      for (var i = part; i < D4; i += PARTS) {
        let k = k4(at, i);
        dot_qk.x += dot(qs[i], k);
        if (GROUP > 1u) { dot_qk.y += dot(qs[D4 + i], k); }
        if (GROUP > 2u) {
          dot_qk.z += dot(qs[2u * D4 + i], k);
          dot_qk.w += dot(qs[3u * D4 + i], k);
        }
      }
    }
    dots[lid] = dot_qk;
    workgroupBarrier();
    if (part == 0u) {
      var score = vec4f(0.0);
      for (var i = 0u; i < PARTS; i++) { score += dots[lid + i]; }
      scores[j] = score;
      rows[j] = at;
    }
    workgroupBarrier(); // (the next tile writes scores and rows only after its first barrier: all are done here)
    let n = min(TILE, p1 - tile);
    var m_new = m;
    for (var i = 0u; i < n; i++) { m_new = max(m_new, scores[i]); }
    let correction = exp(m - m_new);
    l *= correction;
    acc0 *= correction.x;
    acc1 *= correction.y;
    acc2 *= correction.z;
    acc3 *= correction.w;
    m = m_new;
    if (g < G) {
      for (var i = g; i < n; i += G) {
        let v = v4(rows[i], c);
        if (GROUP == 1u) {
          let e = exp(scores[i].x - m.x);
          l.x += e;
          acc0 += e * v;
        } else {
          let e = exp(scores[i] - m); // (lanes past GROUP: scores of 0, harmless)
          l += e;
          acc0 += e.x * v;
          acc1 += e.y * v;
          if (GROUP > 2u) {
            acc2 += e.z * v;
            acc3 += e.w * v;
          }
        }
      }
    }
  }

  // Per head, add the groups' sums: a thread per vec4 of the head.
  for (var r = 0u; r < GROUP; r++) {
    if (g < G) {
      sums[lid] = select(select(select(acc0, acc1, r == 1u), acc2, r == 2u), acc3, r == 3u);
      if (c == 0u) { group_l[g] = l[r]; }
    }
    workgroupBarrier();
    if (lid < D4) {
      var total = vec4f(0.0);
      var l_all = 0.0;
      for (var o = 0u; o < G; o++) {
        total += sums[o * D4 + lid];
        l_all += group_l[o];
      }
      let h = h0 + r;
      if (n_splits(len) == 1u) {
        let o = (t * N_HEADS + h) * HEAD_DIM + 4u * lid;
        for (var k = 0u; k < 4u; k++) { out[o + k] = total[k] / l_all; }
      } else {
        let base = partial_at(t, h, s);
        for (var k = 0u; k < 4u; k++) { partial[base + 4u * lid + k] = total[k]; }
        if (lid == 0u) {
          partial[base + HEAD_DIM] = m[r];
          partial[base + HEAD_DIM + 1u] = l_all;
        }
      }
    }
    workgroupBarrier(); // sums and group_l are rewritten for the next head
  }
}

// Merges the splits of tokens whose context needed more than one: out = sum_s e_s acc_s / sum_s e_s l_s with
// e_s = exp(m_s - max_s m_s). One workgroup per (head, token), a thread per head dimension. Every split's (m, l)
// arrives at once (a thread per split) and each thread's ns partial values are loaded together (clamped, not
// skipped): a loop of dependent loads per split made this small pass cost as much as attention itself.
var<workgroup> split_ml: array<vec2f, MAX_SPLITS>;

@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= counts.n_tokens) { return; }
  let ns = n_splits(positions[t] + 1u);
  if (ns == 1u) { return; }
  for (var s = lid; s < ns; s += WG) {
    let at = partial_at(t, h, s);
    split_ml[s] = vec2f(partial[at + HEAD_DIM], partial[at + HEAD_DIM + 1u]);
  }
  workgroupBarrier();
  var m = -3.4e38;
  for (var s = 0u; s < ns; s++) { m = max(m, split_ml[s].x); }
  var l = 0.0;
  for (var s = 0u; s < ns; s++) { l += exp(split_ml[s].x - m) * split_ml[s].y; }
  for (var d = lid; d < HEAD_DIM; d += WG) {
    var a = 0.0;
    for (var s = 0u; s < MAX_SPLITS; s++) {
      let v = partial[partial_at(t, h, min(s, ns - 1u)) + d];
      a += select(0.0, exp(split_ml[min(s, ns - 1u)].x - m) * v, s < ns);
    }
    out[(t * N_HEADS + h) * HEAD_DIM + d] = a / l;
  }
}
