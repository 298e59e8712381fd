// gate[i] = silu(gate[i]) * up[i]: the SwiGLU activation between the FFN's up and down projections.
override WG: u32 = 128;
override H: u32; // hidden dim

struct Counts { n_tokens: u32, n_out: u32 }
@group(0) @binding(0) var<storage, read_write> gate: array<f32>; // [T, H]
@group(0) @binding(1) var<storage, read> up: array<f32>; // [T, H]
@group(0) @binding(2) var<storage, read> counts: Counts;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= counts.n_tokens * H) { return; }
  let g = gate[i];
  gate[i] = g / (1.0 + exp(-g)) * up[i];
}
