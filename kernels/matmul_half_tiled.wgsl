// The linear kernel for f16 and bf16 weights (steps of many tokens): kernels/matmul_tiled.wgsl with the format's hooks.
//! include format_half
//! include matmul_tiled
