// The linear-layer kernel of the packed weight formats for decode-sized steps (kernels/matmul_{half,int8,int4}.wgsl;
// steps of many tokens use kernels/matmul_tiled.wgsl): y[t, n] (+)= sum_k x[t, k] * w[n, k] with w in vec4<u32>
// chunks of CHUNK values. The format's hooks (kernels/format_*.wgsl) declare CHUNK and XV (vec4<f32> of x per chunk),
// any bindings past 4, and
//   dot_chunk(c, xc)    sum of x * the chunk's decoded values (before any scale),
//   decode_chunk(c)     the chunk's decoded values (before any scale), for the tiled kernel,
//   chunk_scale(n, c)   (scale, min) applied to chunk c of row n: acc += scale * dot_chunk + min * chunk_x_sum,
//   chunk_x_sum(xc)     sum of the chunk's x (for formats with a min; others return 0),
//   row_scale(n)        a factor applied to row n's whole sum (int8's per-row scale; others 1).
// GPU path (LANES > 1): the LANES threads of a row group read consecutive 16-byte chunks of the same rows (coalesced)
// and each keeps ROWS rows, so every x value serves ROWS rows. x is staged slice by slice in workgroup memory: read
// once per workgroup with coalesced loads, then as vec4 without bank conflicts (chunks are swizzled): read straight
// from global memory in chunk order, each x load would touch up to 32 cache lines. CPU path (LANES = 1):
// a thread owns whole rows and reads x directly, with no barriers (each costs a CPU ~10 us on lavapipe).
// A workgroup covers up to TT tokens, taken one at a time: a thread holds only ROWS sums (few registers, so many
// threads keep loads in flight: decode is latency- and bandwidth-bound), and a tile's later tokens find its weights
// in cache. ACCUMULATE adds into y (the residual add is free).
override WG: u32 = 128;
override LANES: u32 = 32; // threads per row group: a power of two dividing WG
override ROWS: u32 = 1; // output rows per thread, 1..MAX_ROWS
override K: u32; // input features
override N: u32; // output features
override STRIDE: u32; // vec4<u32> chunks per packed row: ceil(K / CHUNK)
override XS: u32 = 4096; // floats of x staged per slice (at least CHUNK)
override UNROLL: u32 = 2; // chunks per thread whose loads are issued together (1..MAX_UNROLL): hides DRAM latency
override ACCUMULATE: bool = false;
override USE_OUT_COUNT: bool = false; // rows = counts.n_out (classifier) instead of counts.n_tokens
override STAGE_X: bool = true; // GPU path: x staged in workgroup memory (false: read from global memory, no barriers)
// RMSNorm folded in (GPU path, x staged): y = (W (x * norm_w)) / sqrt(mean(x^2) + EPS), the layer's input norm
// without a dispatch of its own. The staging pass multiplies by norm_w and sums squares; one reduction per token.
override NORM: bool = false;
override EPS: f32 = 1e-5;
override PREFETCH: bool = true; // the first weight loads before x is staged (false: after; for measurements)
//! include matmul_rowgroup_io

var<workgroup> xs: array<vec4f, XS / 4u>; // [chunk, XV] one slice of one token's x, swizzled (xs_index)

// Where vec4 q of chunk c sits in xs. The 8 threads of a quarter warp read chunks c..c+7 at once; XORing q with bits
// of c spreads those 16-byte reads over all 32 banks.
fn xs_index(c: u32, q: u32) -> u32 {
  return c * XV + (q ^ ((c / (8u / XV)) % XV));
}

// The x values of chunk c of the slice (on the CPU path the slice is the whole row of token t).
fn x_chunk(t: u32, c: u32) -> array<vec4f, XV> {
  var v: array<vec4f, XV>;
  for (var q = 0u; q < XV; q++) {
    if (LANES == 1u || !STAGE_X) {
      let k = c * CHUNK + 4u * q;
      v[q] = vec4f(x_at(t, k), x_at(t, k + 1u), x_at(t, k + 2u), x_at(t, k + 3u));
    } else {
      v[q] = xs[xs_index(c, q)];
    }
  }
  return v;
}

//! include matmul_store
//! include matmul_reduce

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // Row groups are folded over x and y because one dispatch dimension stops at 65535 (vocabularies are larger).
  let lane = lid % LANES;
  let n0 = ((wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES) * ROWS; // this thread's rows: n0 .. n0 + ROWS
  let t0 = wid.z * TT;
  let rows = select(counts.n_tokens, counts.n_out, USE_OUT_COUNT);
  if (t0 >= rows) { return; }
  let staged = LANES > 1u && STAGE_X;
  let slice = select(STRIDE, max(XS / CHUNK, 1u), staged); // chunks per slice
  for (var t = t0; t < min(t0 + TT, rows); t++) {
    var acc = array<f32, MAX_ROWS>(); // zeroed for every token
    var ss = 0.0; // NORM: sum of x^2 over the elements this thread staged
    for (var c0 = 0u; c0 < STRIDE; c0 += slice) {
      let chunks = min(slice, STRIDE - c0);
      // The first round's weight loads go out before the slice of x is staged, so the staging's latency (an L2
      // round trip and two barriers, in every workgroup) overlaps them instead of delaying the weight stream.
      var wc: array<vec4<u32>, MAX_UNROLL * MAX_ROWS>;
      var sm: array<vec2f, MAX_UNROLL * MAX_ROWS>; // chunk_scale of each loaded chunk
      if (PREFETCH) { load_round(c0, lane, chunks, n0, &wc, &sm); }
      if (staged) {
        workgroupBarrier(); // the previous slice has been used
        // Four loads in flight per thread per round: the slice arrives in a few memory latencies, not one per value.
        for (var e0 = lid; e0 < chunks * CHUNK; e0 += 4u * WG) {
          var v: array<f32, 4>;
          for (var i = 0u; i < 4u; i++) { v[i] = x_at(t, c0 * CHUNK + e0 + i * WG); }
          for (var i = 0u; i < 4u; i++) {
            let e = e0 + i * WG;
            if (e < chunks * CHUNK) {
              var xv = v[i];
              if (NORM) {
                let k = c0 * CHUNK + e;
                ss += xv * xv;
                xv *= select(0.0, norm_w[min(k, K - 1u)], k < K);
              }
              xs[xs_index(e / CHUNK, (e % CHUNK) / 4u)][e % 4u] = xv;
            }
          }
        }
        workgroupBarrier();
      }
      if (n0 < N) {
        for (var c1 = lane; c1 < chunks; c1 += LANES * UNROLL) {
          // All UNROLL x ROWS weight loads first, then the arithmetic: one memory latency per round, not per chunk.
          if (!PREFETCH || c1 != lane) { load_round(c0, c1, chunks, n0, &wc, &sm); }
          for (var u = 0u; u < UNROLL; u++) {
            let c = c1 + u * LANES;
            if (c < chunks) {
              let xc = x_chunk(t, c);
              let xsum = chunk_x_sum(xc);
              for (var r = 0u; r < ROWS; r++) {
                let i = u * MAX_ROWS + r;
                acc[r] += sm[i].x * dot_chunk(wc[i], xc) + sm[i].y * xsum;
              }
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
