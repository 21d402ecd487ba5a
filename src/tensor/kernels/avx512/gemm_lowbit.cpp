// The avx512 build of ../x86/gemm_lowbit.inc (CMake compiles this folder for avx512 only).
#include "tensor/kernels/x86/gemm_lowbit.inc"
