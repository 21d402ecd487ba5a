// The avx2 build of ../x86/gemm_lowbit.inc (CMake compiles this folder for avx2 only).
#include "tensor/kernels/x86/gemm_lowbit.inc"
