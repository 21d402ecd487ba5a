// The avx512 build of ../x86/family.inc (CMake compiles this folder for avx512 only).
#include "tensor/kernels/x86/family.inc"
