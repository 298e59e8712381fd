// The integer-dot linear kernel for int4 weights on adapters with subgroups that hold a row group:
// kernels/matmul_dot.wgsl with the format's hooks, lane sums reduced through subgroup shuffles.
enable subgroups;
//! include format_int4
//! include matmul_reduce_sg
//! include matmul_dot
