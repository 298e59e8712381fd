// The linear kernel for int8 weights (decode-sized steps): kernels/matmul_packed.wgsl with the format's hooks.
//! include format_int8
//! include matmul_packed
