// Rotary position embedding for q and k, then k and v stored into the paged KV cache in its --kv-cache format
// (kernels/kv_store.wgsl). Invocations x < N_HEADS * HEAD_DIM / 2 rotate one pair of a query head; the next write
// one cache word each of k and v (f32 and f16 caches: a word holds 1 or 2 dimensions, each rotated on its own), or,
// for an int8 cache, rotate and store a whole KV head each (its scale needs the whole head; engine/ops/kv-cache.ts,
// ropeKvInvocations). A head per invocation was serial enough to cost ~40 us a layer on the H100. The cache is
// paged: a token at position p of the sequence in slot s lives in block block_table[s][p / BLOCK] at offset
// p % BLOCK, so sequences grow, shrink (speculative rollback) and move without copying.
override WG: u32 = 64;
override HEAD_DIM: u32;
override N_HEADS: u32;
override N_KV_HEADS: u32;
override BLOCK: u32; // tokens per KV block
override MAX_BLOCKS: u32; // block-table row length (blocks per sequence)
// The fused QKV linear (--fusion on) writes q, k and v side by side, [T, q | k | v]: that buffer is then bound as both
// k and v (read-only, so binding it twice is allowed) and q is read from it too, rotated into binding 0.
override QKV: bool = false;
// KV_FORMAT (kernels/kv_cache.wgsl): the cache's storage, f32 0, f16 1, int8 2.

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read_write> q: array<f32>; // [T, N_HEADS * HEAD_DIM] (unless QKV: in place)
@group(0) @binding(1) var<storage, read> k: array<f32>; // [T, N_KV_HEADS * HEAD_DIM] or QKV [T, q | k | v]
@group(0) @binding(2) var<storage, read> v: array<f32>; // [T, N_KV_HEADS * HEAD_DIM] or QKV [T, q | k | v]
@group(0) @binding(3) var<storage, read_write> k_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(4) var<storage, read_write> v_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(5) var<storage, read> positions: array<u32>; // [T]
@group(0) @binding(6) var<storage, read> slots: array<u32>; // [T] sequence slot of each token
@group(0) @binding(7) var<storage, read> block_table: array<u32>; // [slots, MAX_BLOCKS]
@group(0) @binding(8) var<storage, read> counts: Counts;

//! include kv_store
//! include rope

// Dimension d of the KV head starting at k[src], rotated: the first of its pair gets a c - b s, the second a s + b c.
fn rotated(src: u32, d: u32, pos: u32) -> f32 {
  let half_dim = HEAD_DIM / 2u;
  let p = select(d / 2u, d % half_dim, HALF);
  let first = select(d % 2u == 0u, d < half_dim, HALF);
  let r = pair(p, pos);
  let a = k[src + r.a];
  let b = k[src + r.b];
  return select(a * r.s + b * r.c, a * r.c - b * r.s, first);
}

// Invocations after the query pairs: one per cache word of a head (f32: a dimension, f16: two), int8 one per head.
fn kv_words() -> u32 {
  return select(HEAD_DIM / select(1u, 2u, KV_FORMAT == 1u), 1u, KV_FORMAT == 2u);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.y;
  let half_dim = HEAD_DIM / 2u;
  let i = gid.x;
  if (t >= counts.n_tokens || i >= N_HEADS * half_dim + N_KV_HEADS * kv_words()) { return; }
  let pos = positions[t];
  let qd = N_HEADS * HEAD_DIM;
  let kvd = N_KV_HEADS * HEAD_DIM;
  // Where token t's k and v start in bindings 1 and 2 (QKV: one row holds q, k, v).
  let k_at = select(t * kvd, t * (qd + 2u * kvd) + qd, QKV);
  let v_at = select(t * kvd, t * (qd + 2u * kvd) + qd + kvd, QKV);
  if (i < N_HEADS * half_dim) {
    let r = pair(i % half_dim, pos);
    let head_off = (i / half_dim) * HEAD_DIM;
    let dst = t * qd + head_off;
    let src = select(dst, k_at - qd + head_off, QKV); // QKV: q is the front of the fused row
    var a: f32;
    var b: f32;
    if (QKV) {
      a = k[src + r.a];
      b = k[src + r.b];
    } else {
      a = q[src + r.a];
      b = q[src + r.b];
    }
    q[dst + r.a] = a * r.c - b * r.s;
    q[dst + r.b] = a * r.s + b * r.c;
    return;
  }
  let j = i - N_HEADS * half_dim;
  let kvh = j / kv_words();
  let at = kv_at(block_table[slots[t] * MAX_BLOCKS + pos / BLOCK] * BLOCK + pos % BLOCK, kvh);
  let src = kvh * HEAD_DIM;
  if (KV_FORMAT != 2u) {
    let word = j % kv_words();
    if (KV_FORMAT == 1u) {
      let ks = vec2f(rotated(k_at + src, 2u * word, pos), rotated(k_at + src, 2u * word + 1u, pos));
      put(at + word, pack2x16float(ks), false);
      put(at + word, pack2x16float(vec2f(v[v_at + src + 2u * word], v[v_at + src + 2u * word + 1u])), true);
    } else {
      put(at + word, bitcast<u32>(rotated(k_at + src, word, pos)), false);
      put(at + word, bitcast<u32>(v[v_at + src + word]), true);
    }
    return;
  }
  for (var p = 0u; p < half_dim; p++) {
    let r = pair(p, pos);
    let a = k[k_at + src + r.a];
    let b = k[k_at + src + r.b];
    head[r.a] = a * r.c - b * r.s;
    head[r.b] = a * r.s + b * r.c;
  }
  store_head(at, false);
  for (var d = 0u; d < HEAD_DIM; d++) { head[d] = v[v_at + src + d]; }
  store_head(at, true);
}
