// The reductions of the row-group linear kernels (kernels/matmul_packed.wgsl, matmul_dot.wgsl), which declare WG,
// LANES, ROWS, N, K and EPS and include matmul_rowgroup_io (MAX_ROWS) and matmul_store.
var<workgroup> partial: array<f32, WG * MAX_ROWS>; // [row r, thread] sums, reduced over each row group's lanes
var<workgroup> squares: array<f32, WG>; // each thread's sum of x^2 of the token, reduced over the workgroup

// The folded RMSNorm's 1 / sqrt(mean(x^2) + EPS) of a token, from each thread's sum of squares of the x it staged.
fn rms_scale(ss: f32, lid: u32) -> f32 {
  squares[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { squares[lid] += squares[lid + s]; }
    workgroupBarrier();
  }
  let inv_rms = inverseSqrt(squares[0] / f32(K) + EPS);
  workgroupBarrier(); // the next token overwrites squares
  return inv_rms;
}

// Each thread holds ROWS row sums of token t over its share of K: the LANES threads of a row group add theirs and
// the rows' results are stored.

fn finish_rows(t: u32, n0: u32, lid: u32, acc: array<f32, MAX_ROWS>) {
  let lane = lid % LANES;
  if (LANES == 1u) {
    for (var r = 0u; r < ROWS; r++) {
      // Pairs (SWIGLU, RoPE): ROWS is even (linearLaunch), so row r's pair starts at this thread's row r - r % 2.
      if (n0 + r < N) { store(t, n0 + r, acc[r], acc[r - r % 2u]); }
    }
    return;
  }
  for (var r = 0u; r < ROWS; r++) { partial[r * WG + lid] = acc[r]; }
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var r = 0u; r < ROWS; r++) { partial[r * WG + lid] += partial[r * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  for (var r = lane; r < ROWS; r += LANES) {
    let gate = partial[(r - r % 2u) * WG + lid - lane]; // the pair's even row (SWIGLU, RoPE; ROWS even)
    if (n0 + r < N) { store(t, n0 + r, partial[r * WG + lid - lane], gate); }
  }
  workgroupBarrier(); // the next token overwrites partial
}
