// CPU feature detection (cpuid + OS support for the wider registers), read once at start-up.
#pragma once
#include <string>

namespace kinglet {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
    std::string brand;
    std::string summary() const;  // "avx2 fma f16c avx512f ..."
};

const CpuFeatures& cpu_features();

}  // namespace kinglet
