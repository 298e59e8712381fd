// x[t, :] = table[tokens[t], :] for every token of the step. A step fed from the previous one (counts.fed, a decode
// step chained on the GPU: engine/runtime/model-runner.ts RunOptions.feedTokens) takes token t from the previous
// step's argmax of out row t instead, so it can be submitted before the CPU has read that token back.
override WG: u32 = 128;
override D: u32; // model dim

struct Counts { n_tokens: u32, n_out: u32, fed: u32 }
@group(0) @binding(0) var<storage, read> tokens: array<u32>; // [T]
@group(0) @binding(1) var<storage, read> table: array<f32>; // [vocab, D]
@group(0) @binding(2) var<storage, read_write> x: array<f32>; // [T, D]
@group(0) @binding(3) var<storage, read> counts: Counts;
@group(0) @binding(4) var<storage, read> ids: array<u32>; // [R] the previous step's argmax per out row

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.y;
  let d = gid.x;
  if (t >= counts.n_tokens || d >= D) { return; }
  let token = select(tokens[t], ids[t], counts.fed != 0u);
  x[t * D + d] = table[token * D + d];
}
