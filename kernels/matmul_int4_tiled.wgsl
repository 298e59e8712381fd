// The linear kernel for int4 weights (steps of many tokens): kernels/matmul_tiled.wgsl with the format's hooks.
//! include format_int4
//! include matmul_tiled
