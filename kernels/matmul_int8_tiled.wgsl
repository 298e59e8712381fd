// The linear kernel for int8 weights (steps of many tokens): kernels/matmul_tiled.wgsl with the format's hooks.
//! include format_int8
//! include matmul_tiled
