// The reductions of kernels/matmul_dot.wgsl (same functions as kernels/matmul_reduce.wgsl) on adapters whose
// subgroups hold whole row groups: LANES at most the smallest subgroup, subgroups made of consecutive invocations
// (the launcher checks the first; NVIDIA's and llvmpipe's do the second). A row group's lane sums meet through
// shuffles, without workgroup memory or barriers, and the norm's sum of squares through one subgroupAdd and one
// barrier; the shared-memory trees took log2(LANES) and log2(WG) barriers.
var<workgroup> squares: array<f32, WG>; // each subgroup's sum of x^2, at each of its invocations

// The folded RMSNorm's 1 / sqrt(mean(x^2) + EPS) of a token, from each thread's sum of squares of the x it staged.
fn rms_scale(ss: f32, lid: u32) -> f32 {
  let size = subgroupAdd(1u); // invocations per subgroup (all are active here)
  squares[lid] = subgroupAdd(ss);
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < WG; i += size) { total += squares[i]; }
  workgroupBarrier(); // the next token overwrites squares
  return inverseSqrt(total / f32(K) + EPS);
}

// Each thread holds ROWS row sums of token t over its share of K: the LANES threads of a row group add theirs and
// the rows' results are stored, row r by lane r.
fn finish_rows(t: u32, n0: u32, lid: u32, acc: array<f32, MAX_ROWS>) {
  let lane = lid % LANES;
  var sums = acc;
  for (var m = 1u; m < LANES; m <<= 1u) {
    for (var r = 0u; r < ROWS; r++) { sums[r] += subgroupShuffleXor(sums[r], m); }
  }
  for (var r = lane; r < ROWS; r += LANES) {
    // Pairs (SWIGLU, RoPE): ROWS is even (linearLaunch), so row r's pair starts at this thread's row r - r % 2.
    if (n0 + r < N) { store(t, n0 + r, sums[r], sums[r - r % 2u]); }
  }
}
