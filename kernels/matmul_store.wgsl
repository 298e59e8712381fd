// Where a linear layer's results go: included by the kernels/matmul*.wgsl family, which declare N, ACCUMULATE and
// y: array<f32>. ACCUMULATE adds into y (the residual add is free). SWIGLU is --fusion's gate/up epilogue: the rows
// are (gate, up) pairs, w1 and w3 interleaved (rows 2m and 2m + 1, engine/ops/fusion.ts), and y[t, m] ([T, N / 2])
// gets silu(gate) * up, so the FFN's activation costs no dispatch and gate and up never reach memory. Each kernel
// brings a pair's two results together (one thread's rows, or matmul.wgsl's adjacent row groups).
override SWIGLU: bool = false;

// Whether the kernel must bring each row pair's results together (`gate` below).
fn paired() -> bool { return SWIGLU; }

// Row n's result v for token t. With SWIGLU the odd row of a pair stores the activation, `gate` being its pair's
// even row, and the even row stores nothing (`gate` is ignored otherwise).
fn store(t: u32, n: u32, v: f32, gate: f32) {
  if (SWIGLU) {
    if (n % 2u == 1u) { y[t * (N / 2u) + n / 2u] = gate / (1.0 + exp(-gate)) * v; }
    return;
  }
  let o = t * N + n;
  if (ACCUMULATE) { y[o] += v; } else { y[o] = v; }
}
