// out[r, :] = x[src, :] / sqrt(mean(x[src, :]^2) + eps) * w, one workgroup per row.
// GATHER picks the source rows from `rows` (the final norm runs only on rows whose logits are wanted).
override WG: u32 = 128;
override D: u32;
override EPS: f32 = 1e-5;
override GATHER: bool = false;

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>; // [T, D]
@group(0) @binding(1) var<storage, read> w: array<f32>; // [D]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [T or R, D]
@group(0) @binding(3) var<storage, read> counts: Counts;
@group(0) @binding(4) var<storage, read> rows: array<u32>; // [R] (read only when GATHER)

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let n = select(counts.n_tokens, counts.n_out, GATHER);
  if (r >= n) { return; }
  let src = select(r, rows[r], GATHER) * D;
  var ss = 0.0;
  for (var i = lid; i < D; i += WG) {
    let v = x[src + i];
    ss += v * v;
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let scale = inverseSqrt(partial[0] / f32(D) + EPS);
  for (var i = lid; i < D; i += WG) {
    y[r * D + i] = x[src + i] * scale * w[i];
  }
}
