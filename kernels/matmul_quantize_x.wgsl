// GPU path with XS > 0: a slice of XS floats of x (times the norm weight), staged with coalesced loads before a
// thread per chunk quantizes it; value e of the slice's chunk c at c * (CHUNK + 1) + e, so the threads, reading
// their chunks' values in step, hit distinct banks. Measured on the H100 (bench/linear.ts, llama-7b shapes): int4
// (32-value chunks, read straight from global memory a load of a warp touches 32 lines 128 bytes apart) gained up to
// 3x on some layers (12288x4096 60 -> 20 us); int8 (16-value chunks) lost 3-15%, so it reads x directly (XS 0).
var<workgroup> xf: array<f32, max(XS, CHUNK) / CHUNK * (CHUNK + 1u)>;

// Quantizes chunk c of token t's x into xq and xd, a thread per chunk: from the staged slice (chunk cl of it) with
// `staged`, else straight from global memory, adding x^2 to *ss (the CPU path and int8). (Measured on the H100:
// spreading a chunk over 4-8 threads, which share its maximum through workgroup memory, was slower on most llama-7b
// layers, e.g. 102 against 70 us on int8 4096x11008.)
fn quantize_chunk(t: u32, c: u32, cl: u32, staged: bool, ss: ptr<function, f32>) {
  var v: array<f32, CHUNK>;
  var amax = 0.0;
  for (var e = 0u; e < CHUNK; e++) {
    let k = c * CHUNK + e;
    if (staged) { v[e] = xf[cl * (CHUNK + 1u) + e]; } else { v[e] = normed(x_at(t, k), k, ss); }
    amax = max(amax, abs(v[e]));
  }
  let inv = select(0.0, 127.0 / amax, amax > 0.0);
  var qsum = 0i;
  for (var i = 0u; i < 4u * XQV; i++) {
    var q = vec4i();
    for (var b = 0u; b < 4u; b++) { q[b] = i32(round(v[x_source(i, b)] * inv)); }
    qsum += q.x + q.y + q.z + q.w;
    xq[(i / 4u) * STRIDE + c][i % 4u] = pack4xI8(q);
  }
  xd[c] = vec2f(amax / 127.0, f32(qsum));
}

// Floats of x per staged slice: XS, at most SL per thread, whole chunks.
fn slice_floats() -> u32 {
  return min(XS, SL * WG) / CHUNK * CHUNK;
}

// Writes a loaded slice of `floats` values into xf (times the norm weight), adding x^2 to *ss.
fn store_slice(xv: ptr<function, array<f32, SL>>, nw: ptr<function, array<f32, SL>>, floats: u32, lid: u32,
               ss: ptr<function, f32>) {
  for (var i = 0u; i < SL; i++) {
    let e = lid + i * WG;
    if (e < floats) {
      let v = (*xv)[i];
      *ss += v * v;
      var stored = v;
      if (NORM) { stored *= (*nw)[i]; }
      xf[(e / CHUNK) * (CHUNK + 1u) + e % CHUNK] = stored;
    }
  }
}

// Quantizes token t's x into xq and xd (all chunks, slice by slice), returning this thread's sum of x^2 (for the
// folded norm). The workgroup has passed a barrier when it returns.
fn quantize_token(t: u32, lid: u32) -> f32 {
  var ss = 0.0;
  if (LANES == 1u || XS == 0u) { // each thread reads its chunks straight from x
    for (var c = lid; c < STRIDE; c += WG) { quantize_chunk(t, c, c, false, &ss); }
    workgroupBarrier(); // xq and xd are complete
    return ss;
  }
  let floats = slice_floats();
  let total = STRIDE * CHUNK;
  var xv: array<f32, SL>;
  var nw: array<f32, SL>;
  load_slice(t, 0u, lid, &xv, &nw);
  for (var k0 = 0u; k0 < total; k0 += floats) {
    let n = min(floats, total - k0);
    store_slice(&xv, &nw, n, lid, &ss);
    workgroupBarrier();
    if (k0 + floats < total) { load_slice(t, k0 + floats, lid, &xv, &nw); }
    for (var cl = lid; cl < n / CHUNK; cl += WG) { quantize_chunk(t, k0 / CHUNK + cl, cl, true, &ss); }
    workgroupBarrier(); // xq and xd hold the slice (and the next may overwrite xf)
  }
  return ss;
}

