// kernels/matmul_dot.wgsl's quantize_token on adapters whose subgroups are exactly 32 consecutive invocations
// (NVIDIA's; the launcher checks), for 32-value chunks (int4): included in place of kernels/matmul_quantize_x.wgsl.
// A slice's value lid + i * WG sits in a register of thread lid, so for each i a subgroup holds one whole chunk, one
// value an invocation, and quantizes it there: subgroupMax for its max |x|, subgroupAdd for its code sum, two
// shuffles to gather each word's four codes. No workgroup memory round trip and no barrier per slice: the staged
// path (matmul_quantize_x.wgsl) writes the slice out, waits, has a thread per chunk read it back and waits again.

// Quantizes token t's x into xq and xd (all chunks, slice by slice), returning this thread's sum of x^2 (for the
// folded norm). The workgroup has passed a barrier when it returns.
fn quantize_token(t: u32, lid: u32) -> f32 {
  let floats = SL * WG; // whole chunks: WG is a multiple of 32
  let total = STRIDE * CHUNK;
  let l = lid % 32u; // invocation in the subgroup, and value in the chunk
  // Value l goes to byte b of word j of plane p (x_source: l = 8j + 2b + p); the four values of a word are in
  // invocations l, l ^ 2, l ^ 4, l ^ 6, and the one with b = 0 stores it.
  let shift = 8u * ((l % 8u) / 2u);
  var ss = 0.0;
  var xv: array<f32, SL>;
  var nw: array<f32, SL>;
  load_slice(t, 0u, lid, &xv, &nw);
  for (var k0 = 0u; k0 < total; k0 += floats) {
    let v = xv;
    let vw = nw;
    if (k0 + floats < total) { load_slice(t, k0 + floats, lid, &xv, &nw); }
    for (var i = 0u; i < SL; i++) {
      ss += v[i] * v[i];
      var s = v[i];
      if (NORM) { s *= vw[i]; }
      // Non-negative floats order as their bits do, so the max is one integer reduction.
      let amax = bitcast<f32>(subgroupMax(bitcast<u32>(abs(s))));
      let q = i32(round(s * select(0.0, 127.0 / amax, amax > 0.0)));
      let qsum = subgroupAdd(q);
      var word = (u32(q) & 0xffu) << shift;
      word |= subgroupShuffleXor(word, 2u);
      word |= subgroupShuffleXor(word, 4u);
      let e = k0 + lid + i * WG;
      if (e < total) { // the chunk is in K (all of its invocations agree)
        let c = e / CHUNK;
        if (l % 8u < 2u) { xq[(l % 2u) * STRIDE + c][l / 8u] = word; }
        if (l == 0u) { xd[c] = vec2f(amax / 127.0, f32(qsum)); }
      }
    }
  }
  workgroupBarrier(); // xq and xd are complete
  return ss;
}
