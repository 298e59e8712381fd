// Fills a buffer with the synthetic presets' index-addressable noise (engine/model/noise.ts defines the same
// function on the CPU), so multi-GB synthetic weights are generated on the device instead of uploaded.
override WG: u32 = 256;

struct Params { seed: u32, count: u32, scale: f32, offset: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let h = pcg((i + params.offset) ^ pcg(params.seed));
  out[i] = params.scale * (f32(h >> 8u) * (1.0 / 16777216.0) * 2.0 - 1.0);
}
