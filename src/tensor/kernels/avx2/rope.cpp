// The avx2 build of ../x86/rope.inc (CMake compiles this folder for avx2 only).
#include "tensor/kernels/x86/rope.inc"
