// ids[r] = argmax_v logits[r, v], one workgroup per logits row, the lowest index among equal maxima (as the CPU's
// argmax in engine/sampling/sampler.ts). Greedy rows need only this: reading back 4 bytes instead of a vocabulary of
// floats saves the copy, the map and a scan on the CPU (~0.6 ms a step for a 128k vocabulary, ~80 ms at 128 rows).
override WG: u32 = 256;
override V: u32; // vocabulary

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> logits: array<f32>; // [R, V]
@group(0) @binding(1) var<storage, read_write> ids: array<u32>; // [R]
@group(0) @binding(2) var<storage, read> counts: Counts;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

const NONE: u32 = 0xffffffffu;

// Whether (v, i) beats (bv, bi): anything beats NONE; otherwise larger, or equal at a lower index. (Rows with NaN
// logits, a broken model, get some index, not necessarily the CPU scan's.)
fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  if (r >= counts.n_out) { return; }
  var bv = 0.0;
  var bi = NONE;
  for (var i = lid; i < V; i += WG) {
    let v = logits[r * V + i];
    if (beats(v, i, bv, bi)) {
      bv = v;
      bi = i;
    }
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && beats(best_v[lid + s], best_i[lid + s], best_v[lid], best_i[lid])) {
      best_v[lid] = best_v[lid + s];
      best_i[lid] = best_i[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { ids[r] = best_i[0]; }
}
