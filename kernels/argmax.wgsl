// ids[r] = argmax_v logits[r, v], the lowest index among equal maxima (as the CPU's argmax in
// engine/sampling/sampler.ts). Greedy rows need only this: reading back 4 bytes instead of a vocabulary of floats saves
// the copy, the map and a scan on the CPU (~0.6 ms a step for a 128k vocabulary, ~80 ms at 128 rows).
// Two passes, so a long row is scanned by many workgroups at once (one workgroup scanning 128k logits took ~0.2 ms
// on the H100): `partial` (grid [P, R]) reduces segment p of row r to one (value, index) pair, `main` (grid [R])
// reduces a row's P pairs.
override WG: u32 = 256;
override V: u32; // vocabulary
override P: u32; // segments per row: ceil(V / SEG)
override SEG: u32; // logits per segment

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read> logits: array<f32>; // [R, V]
@group(0) @binding(1) var<storage, read_write> ids: array<u32>; // [R]
@group(0) @binding(2) var<storage, read> counts: Counts;
@group(0) @binding(3) var<storage, read_write> pairs: array<vec2u>; // [R, P]: (bits of the value, index)

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

const NONE: u32 = 0xffffffffu;

// Whether (v, i) beats (bv, bi): anything beats NONE; otherwise larger, or equal at a lower index. (Rows with NaN
// logits, a broken model, get some index, not necessarily the CPU scan's.)
fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}

// Reduces every thread's (bv, bi) to best_v[0], best_i[0].
fn reduce(lid: u32, bv: f32, bi: u32) {
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
}

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let p = wid.x;
  let r = wid.y;
  if (r >= counts.n_out) { return; }
  var bv = 0.0;
  var bi = NONE;
  for (var i = p * SEG + lid; i < min((p + 1u) * SEG, V); i += WG) {
    let v = logits[r * V + i];
    if (beats(v, i, bv, bi)) {
      bv = v;
      bi = i;
    }
  }
  reduce(lid, bv, bi);
  if (lid == 0u) { pairs[r * P + p] = vec2u(bitcast<u32>(best_v[0]), best_i[0]); }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  if (r >= counts.n_out) { return; }
  var bv = 0.0;
  var bi = NONE;
  for (var p = lid; p < P; p += WG) {
    let pair = pairs[r * P + p];
    if (beats(bitcast<f32>(pair.x), pair.y, bv, bi)) {
      bv = bitcast<f32>(pair.x);
      bi = pair.y;
    }
  }
  reduce(lid, bv, bi);
  if (lid == 0u) { ids[r] = best_i[0]; }
}
