// --fusion's epilogue of the fused QKV linear on decode steps, swapped in for kernels/matmul_store.wgsl (the
// launcher's `includes`: engine/ops/weight-formats.ts, LinearShape.ropeKv): the layer's rows are q | k | v of each
// token, and instead of storing them for rope_kv to read back, it rotates q and k at the token's position, stores q
// into y ([T, N_HEADS * HEAD_DIM]) and k and v straight into the paged KV cache in its --kv-cache format (f32 or
// f16; int8 needs a whole head's absmax and keeps rope_kv). Each thread holds a pair's two rows (even ROWS, or
// adjacent row groups: the same pairing as SWIGLU), and in the interleaved layout (HALF false) those are the two
// dimensions one rotation mixes and one f16 cache word holds. Saves rope_kv's dispatch and q, k, v's round trip:
// llama-7b int4 on an H100 ran 358.5 -> 372.4 tok/s with rope_kv left out altogether.
override HEAD_DIM: u32;
override N_HEADS: u32;
override N_KV_HEADS: u32;
override BLOCK: u32; // tokens per KV block
override MAX_BLOCKS: u32; // block-table row length (blocks per sequence)

@group(0) @binding(7) var<storage, read_write> k_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(8) var<storage, read_write> v_cache: array<u32>; // [blocks, BLOCK, N_KV_HEADS, kv_head_words()]
@group(0) @binding(9) var<storage, read> positions: array<u32>; // [T]
@group(0) @binding(10) var<storage, read> slots: array<u32>; // [T] sequence slot of each token
@group(0) @binding(11) var<storage, read> block_table: array<u32>; // [slots, MAX_BLOCKS]

//! include kv_store
//! include rope

fn paired() -> bool { return true; }

// Row n's result v for token t; `gate` is its pair's even row. The odd row of a pair stores both.
fn store(t: u32, n: u32, v: f32, gate: f32) {
  if (n % 2u == 0u) { return; }
  let m = n - 1u; // the pair's first row
  let pos = positions[t];
  let qd = N_HEADS * HEAD_DIM;
  let kvd = N_KV_HEADS * HEAD_DIM;
  if (m >= qd + kvd) {
    put_pair(t, pos, m - qd - kvd, vec2f(gate, v), true); // v is not rotated
    return;
  }
  let r = pair((m % HEAD_DIM) / 2u, pos);
  let rotated = vec2f(gate * r.c - v * r.s, gate * r.s + v * r.c);
  if (m < qd) {
    y[t * qd + m] = rotated.x;
    y[t * qd + n] = rotated.y;
    return;
  }
  put_pair(t, pos, m - qd, rotated, false);
}

// Dimensions j, j + 1 (j even) of token t's k (or v) row into the cache.
fn put_pair(t: u32, pos: u32, j: u32, ab: vec2f, to_v: bool) {
  let at = kv_at(block_table[slots[t] * MAX_BLOCKS + pos / BLOCK] * BLOCK + pos % BLOCK, j / HEAD_DIM);
  let d = j % HEAD_DIM;
  if (KV_FORMAT == 1u) {
    put(at + d / 2u, pack2x16float(ab), to_v);
  } else {
    put(at + d, bitcast<u32>(ab.x), to_v);
    put(at + d + 1u, bitcast<u32>(ab.y), to_v);
  }
}
