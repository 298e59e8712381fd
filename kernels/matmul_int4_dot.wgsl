// The integer-dot linear kernel for int4 weights (decode-sized steps, --int-dot on): kernels/matmul_dot.wgsl with the
// format's hooks and the shared-memory reductions.
//! include format_int4
//! include matmul_reduce
//! include matmul_dot
