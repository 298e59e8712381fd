// Rotary position embedding: which two dimensions of a head rotate together, and by what angle. Included by
// kernels/rope_kv.wgsl and by the fused QKV linear's epilogue (kernels/matmul_store_rope.wgsl), so both rotate by
// the same arithmetic.
override THETA: f32 = 10000.0;
override HALF: bool = false; // false: rotate (x[2i], x[2i+1]) as llama2.c; true: (x[i], x[i + d/2]) as Hugging Face

// The rotation of pair p (of HEAD_DIM / 2) at position pos: which two dimensions, cos and sin. The pair's first
// dimension becomes a c - b s, its second a s + b c.
struct Pair { a: u32, b: u32, c: f32, s: f32 }

fn pair(p: u32, pos: u32) -> Pair {
  let half_dim = HEAD_DIM / 2u;
  let angle = f32(pos) * pow(THETA, -f32(2u * p) / f32(HEAD_DIM));
  return Pair(select(2u * p, p, HALF), select(2u * p + 1u, p + half_dim, HALF), cos(angle), sin(angle));
}
