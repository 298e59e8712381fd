// Rotary position embedding for q (in place) and k, then k and v stored into the paged KV cache.
// One invocation per rotation pair of one head of one token. The cache is paged: a token at position p of the
// sequence in slot s lives in block block_table[s][p / BLOCK] at offset p % BLOCK, so sequences grow,
// shrink (speculative rollback) and move without copying.
override WG: u32 = 64;
override HEAD_DIM: u32;
override N_HEADS: u32;
override N_KV_HEADS: u32;
override THETA: f32 = 10000.0;
override HALF: bool = false; // false: rotate (x[2i], x[2i+1]) as llama2.c; true: (x[i], x[i + d/2]) as Hugging Face
override BLOCK: u32; // tokens per KV block
override MAX_BLOCKS: u32; // block-table row length (blocks per sequence)
// The fused QKV linear (--fusion on) writes q, k and v side by side, [T, q | k | v]: that buffer is then bound as both
// k and v (read-only, so binding it twice is allowed) and q is read from it too, rotated into binding 0.
override QKV: bool = false;

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read_write> q: array<f32>; // [T, N_HEADS * HEAD_DIM] (unless QKV: in place)
@group(0) @binding(1) var<storage, read> k: array<f32>; // [T, N_KV_HEADS * HEAD_DIM] or QKV [T, q | k | v]
@group(0) @binding(2) var<storage, read> v: array<f32>; // [T, N_KV_HEADS * HEAD_DIM] or QKV [T, q | k | v]
@group(0) @binding(3) var<storage, read_write> k_cache: array<f32>; // [blocks, BLOCK, N_KV_HEADS * HEAD_DIM]
@group(0) @binding(4) var<storage, read_write> v_cache: array<f32>; // [blocks, BLOCK, N_KV_HEADS * HEAD_DIM]
@group(0) @binding(5) var<storage, read> positions: array<u32>; // [T]
@group(0) @binding(6) var<storage, read> slots: array<u32>; // [T] sequence slot of each token
@group(0) @binding(7) var<storage, read> block_table: array<u32>; // [slots, MAX_BLOCKS]
@group(0) @binding(8) var<storage, read> counts: Counts;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.y;
  let half_dim = HEAD_DIM / 2u;
  let i = gid.x; // pair index over q heads then k heads
  if (t >= counts.n_tokens || i >= (N_HEADS + N_KV_HEADS) * half_dim) { return; }
  let pos = positions[t];
  let is_q = i < N_HEADS * half_dim;
  let j = select(i - N_HEADS * half_dim, i, is_q);
  let head = j / half_dim;
  let p = j % half_dim;
  let a_off = head * HEAD_DIM + select(2u * p, p, HALF);
  let b_off = head * HEAD_DIM + select(2u * p + 1u, p + half_dim, HALF);
  let freq = pow(THETA, -f32(2u * p) / f32(HEAD_DIM));
  let angle = f32(pos) * freq;
  let c = cos(angle);
  let s = sin(angle);
  let qd = N_HEADS * HEAD_DIM;
  let kvd = N_KV_HEADS * HEAD_DIM;
  // Where token t's k and v start in bindings 1 and 2 (QKV: one row holds q, k, v).
  let k_at = select(t * kvd, t * (qd + 2u * kvd) + qd, QKV);
  let v_at = select(t * kvd, t * (qd + 2u * kvd) + qd + kvd, QKV);
  if (is_q) {
    let base = t * qd;
    var a: f32;
    var b: f32;
    if (QKV) {
      a = k[k_at - qd + a_off];
      b = k[k_at - qd + b_off];
    } else {
      a = q[base + a_off];
      b = q[base + b_off];
    }
    q[base + a_off] = a * c - b * s;
    q[base + b_off] = a * s + b * c;
    return;
  }
  let a = k[k_at + a_off];
  let b = k[k_at + b_off];
  let block = block_table[slots[t] * MAX_BLOCKS + pos / BLOCK];
  let dst = (block * BLOCK + pos % BLOCK) * kvd;
  k_cache[dst + a_off] = a * c - b * s;
  k_cache[dst + b_off] = a * s + b * c;
  v_cache[dst + a_off] = v[v_at + a_off];
  v_cache[dst + b_off] = v[v_at + b_off];
}
