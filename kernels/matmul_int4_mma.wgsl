// The linear kernel for int4 weights on matrix units (steps of many tokens, --subgroup-matrix):
// kernels/matmul_mma.wgsl with the format's hooks.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
//! include format_int4
//! include matmul_mma
