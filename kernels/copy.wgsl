// Streams one buffer into another: the engine's yardstick for memory bandwidth (MBU is measured against it).
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = gid.x; i < arrayLength(&src); i += nwg.x * WG) { dst[i] = src[i]; }
}

// An empty kernel: timing many of them in one pass gives the fixed cost of a dispatch.
@compute @workgroup_size(1)
fn empty() {}
