// The linear kernel for int4 weights (decode-sized steps): kernels/matmul_packed.wgsl with the format's hooks.
//! include format_int4
//! include matmul_packed
