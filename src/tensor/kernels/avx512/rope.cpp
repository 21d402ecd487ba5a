// The avx512 build of ../x86/rope.inc (CMake compiles this folder for avx512 only).
#include "tensor/kernels/x86/rope.inc"
