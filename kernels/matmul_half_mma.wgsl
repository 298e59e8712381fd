// The linear kernel for f16 and bf16 weights on matrix units (steps of many tokens, --subgroup-matrix):
// kernels/matmul_mma.wgsl with the format's hooks.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
//! include format_half
//! include matmul_mma
