// The linear kernel of the integer formats with integer dot products (--int-dot on; kernels/matmul_{int8,int4}_dot):
// x is quantized to int8 per chunk of CHUNK values (dx = max |x| / 127, as llama.cpp's q8_1 blocks), and each chunk's
// sum of code products is taken exactly with dot4I8Packed, four products per instruction, then scaled once:
//   sum_k x * w over a chunk = dx * (scale * (idot - centre * qsum) + min * qsum)
// with qsum the chunk's sum of x codes and (scale, min) the format's chunk_scale (int8: the row's scale applies
// to the whole sum instead, row_scale). Decoding weights to floats (kernels/matmul_packed.wgsl) costs 4-5 instructions
// per weight, which left int8 and int4 bound by arithmetic on an H100, not by the bytes they read; here int8 needs no
// decode at all and int4 two instructions per 8 codes. Same thread layout, contract and bindings as matmul_packed,
// GPU and CPU paths alike; x is quantized, token by token, into workgroup memory by the threads of the workgroup, K
// at a time (its size bounds K: intDotFits in engine/ops/weight-formats.ts), a thread per chunk (quantize_token).
// The kernel file brings the reductions: kernels/matmul_reduce.wgsl, or matmul_reduce_sg.wgsl with subgroups.
override WG: u32 = 128;
override LANES: u32 = 32; // threads per row group: a power of two dividing WG
override ROWS: u32 = 1; // output rows per thread, 1..MAX_ROWS
override K: u32; // input features
override N: u32; // output features
override STRIDE: u32; // vec4<u32> chunks per packed row: ceil(K / CHUNK)
override UNROLL: u32 = 2; // chunks per thread whose loads are issued together (1..MAX_UNROLL)
override ACCUMULATE: bool = false;
override USE_OUT_COUNT: bool = false; // rows = counts.n_out (classifier) instead of counts.n_tokens
override NORM: bool = false; // the layer's input RMSNorm folded in, as in matmul_packed
override EPS: f32 = 1e-5;
override XS: u32 = 0u; // GPU path: floats of x staged per slice (a multiple of CHUNK; 0: none, see xf)
// The first round of a token's weight loads goes out before x is quantized, so the quantization's latency overlaps
// them (false: after; for measurements).
override PREFETCH: bool = true;
//! include matmul_rowgroup_io

// One token's quantized x: word q of chunk c at xq[q * STRIDE + c] (planes, so the lanes of a row group, which read
// consecutive chunks, read consecutive 16-byte words), and chunk c's (dx, qsum) at xd[c].
var<workgroup> xq: array<vec4<u32>, XQV * STRIDE>;
var<workgroup> xd: array<vec2f, STRIDE>;

// x value xv at k times the norm weight with NORM; adds xv^2 to *ss (the folded norm's sum of squares).
fn normed(xv: f32, k: u32, ss: ptr<function, f32>) -> f32 {
  *ss += xv * xv;
  if (NORM) { return xv * select(0.0, norm_w[min(k, K - 1u)], k < K); }
  return xv;
}

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

// GPU path: each thread loads SL values of a slice (value lid + i * WG: coalesced) and, with NORM, their norm
// weights, all issued before any is used; the next slice's loads go out before the current one is quantized. So a
// slice costs about one memory latency. (Rounds of 4 loads, stored before the next 4 went out, took 4 latencies a
// slice: on the H100, x's quantization was 6.3 of w2's 22.3 us, K = 11008 in 3 slices; bench/linear.ts noquant.)
const SL: u32 = 16u;

// Floats of x per staged slice: XS, at most SL per thread, whole chunks.
fn slice_floats() -> u32 {
  return min(XS, SL * WG) / CHUNK * CHUNK;
}

// This thread's values of the slice at k0 into *xv and, with NORM, their norm weights into *nw.
fn load_slice(t: u32, k0: u32, lid: u32, xv: ptr<function, array<f32, SL>>, nw: ptr<function, array<f32, SL>>) {
  for (var i = 0u; i < SL; i++) {
    let k = k0 + lid + i * WG;
    (*xv)[i] = x_at(t, k);
    if (NORM) { (*nw)[i] = select(0.0, norm_w[min(k, K - 1u)], k < K); }
  }
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

//! include matmul_store

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let n0 = ((wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES) * ROWS; // this thread's rows: n0 .. n0 + ROWS
  let t0 = wid.z * TT;
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (t0 >= rows) { return; }
  let centre = code_centre();
  var wc: array<vec4<u32>, MAX_UNROLL * MAX_ROWS>; // a round of weight chunks and their scales
  var sm: array<vec2f, MAX_UNROLL * MAX_ROWS>;
  for (var t = t0; t < min(t0 + TT, rows); t++) {
    workgroupBarrier(); // the previous token's x has been used
    if (PREFETCH && n0 < N) { load_round(0u, lane, STRIDE, n0, &wc, &sm); }
    let ss = quantize_token(t, lid); // xq and xd hold token t's x
    var acc = array<f32, MAX_ROWS>();
    if (n0 < N) {
      for (var c1 = lane; c1 < STRIDE; c1 += LANES * UNROLL) {
        // All UNROLL x ROWS weight loads first, then the arithmetic: one memory latency per round, not per chunk.
        if (!PREFETCH || c1 != lane) { load_round(0u, c1, STRIDE, n0, &wc, &sm); } // the whole row is one slice
        for (var u = 0u; u < UNROLL; u++) {
          let c = c1 + u * LANES;
          if (c < STRIDE) {
            var xc: array<vec4<u32>, XQV>;
            for (var q = 0u; q < XQV; q++) { xc[q] = xq[q * STRIDE + c]; }
            let d = xd[c];
            for (var r = 0u; r < ROWS; r++) {
              let i = u * MAX_ROWS + r;
              let idot = f32(idot_chunk(wc[i], xc));
              acc[r] += d.x * (sm[i].x * (idot - centre * d.y) + sm[i].y * d.y);
            }
          }
        }
      }
    }
    var inv_rms = 1.0;
    if (NORM) { inv_rms = rms_scale(ss, lid); }
    for (var r = 0u; r < ROWS; r++) { acc[r] *= row_scale(min(n0 + r, N - 1u)) * inv_rms; }
    finish_rows(t, n0, lid, acc);
  }
}
