#include "core/cpu.h"

#include <cpuid.h>

#include <cstdint>
#include <cstring>

namespace kinglet {
namespace {

uint64_t xgetbv0() {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    bool osxsave = c & (1u << 27);
    bool avx = c & (1u << 28);
    f.fma = c & (1u << 12);
    f.f16c = c & (1u << 29);
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool os_avx = (xcr0 & 0x6) == 0x6;
    bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
    if (!(avx && os_avx)) {
        f.fma = f.f16c = false;
    } else if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f.avx2 = b & (1u << 5);
        f.bmi2 = b & (1u << 8);
        if (os_avx512) {
            f.avx512f = b & (1u << 16);
            f.avx512dq = b & (1u << 17);
            f.avx512bw = b & (1u << 30);
            f.avx512vl = b & (1u << 31);
            f.avx512vnni = c & (1u << 11);
        }
        unsigned a1, b1, c1, d1;
        if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) {
            f.avxvnni = a1 & (1u << 4);
            if (os_avx512) f.avx512bf16 = a1 & (1u << 5);
        }
    }
    unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
    if (max_ext >= 0x80000004) {
        char brand[49] = {};
        for (unsigned i = 0; i < 3; ++i) {
            __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
            std::memcpy(brand + 16 * i, &a, 4);
            std::memcpy(brand + 16 * i + 4, &b, 4);
            std::memcpy(brand + 16 * i + 8, &c, 4);
            std::memcpy(brand + 16 * i + 12, &d, 4);
        }
        f.brand = brand;
        while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
    }
    return f;
}

}  // namespace

std::string CpuFeatures::summary() const {
    std::string s;
    auto add = [&](bool on, const char* n) {
        if (on) s += s.empty() ? n : std::string(" ") + n;
    };
    add(avx2, "avx2");
    add(fma, "fma");
    add(f16c, "f16c");
    add(bmi2, "bmi2");
    add(avx512f, "avx512f");
    add(avx512bw, "avx512bw");
    add(avx512vl, "avx512vl");
    add(avx512dq, "avx512dq");
    add(avx512vnni, "avx512vnni");
    add(avx512bf16, "avx512bf16");
    add(avxvnni, "avxvnni");
    return s.empty() ? "baseline" : s;
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

}  // namespace kinglet
