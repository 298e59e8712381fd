// The integer-dot linear kernel for int8 weights on adapters with subgroups that hold a row group:
// kernels/matmul_dot.wgsl with the format's hooks, lane sums reduced through subgroup shuffles.
enable subgroups;
//! include format_int8
//! include matmul_reduce_sg
//! include matmul_dot
