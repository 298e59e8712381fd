// The linear kernel for f16 and bf16 weights (decode-sized steps): kernels/matmul_packed.wgsl with the format's hooks.
//! include format_half
//! include matmul_packed
