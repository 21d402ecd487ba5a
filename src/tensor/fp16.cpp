#include "tensor/fp16.h"

#include <array>
#include <memory>

namespace kinglet {

// Both directions are integer bit manipulation, so the result never depends on the floating-point
// environment (rounding mode, flush-to-zero) of the calling thread.

float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    if (exp == 0x1f) {
        // Inf keeps its sign; a NaN keeps its payload and comes out quiet, as F16C's vcvtph2ps does.
        uint32_t bits = sign | 0x7f800000 | (mant << 13);
        if (mant) bits |= 0x00400000;
        return fp32_from_bits(bits);
    }
    if (exp == 0) {
        if (mant == 0) return fp32_from_bits(sign);
        // Subnormal half: mant * 2^-24, renormalized into a normal float.
        int e = -14;
        while (!(mant & 0x400)) {
            mant <<= 1;
            --e;
        }
        mant &= 0x3ff;
        return fp32_from_bits(sign | (static_cast<uint32_t>(e + 127) << 23) | (mant << 13));
    }
    return fp32_from_bits(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

uint16_t fp32_to_fp16(float f) {
    const uint32_t x = fp32_to_bits(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) return sign | 0x7e00;  // every NaN becomes the canonical quiet NaN, as in ggml
    if (ax == 0x7f800000) return sign | 0x7c00;
    const int e = static_cast<int>(ax >> 23) - 127;
    if (e > 15) return sign | 0x7c00;  // 2^16 and above overflow
    uint32_t mant = ax & 0x7fffff;
    if (e >= -14) {
        // Normal half. Rounding up may carry into the exponent, up to infinity (0x7c00): that is
        // exactly round-to-nearest-even's overflow for values in [65520, 65536).
        uint32_t h = (static_cast<uint32_t>(e + 15) << 10) | (mant >> 13);
        const uint32_t rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
        return static_cast<uint16_t>(sign | h);
    }
    if (e < -25) return sign;  // below half the smallest subnormal: rounds to zero
    // Subnormal half: value / 2^-24 = significand >> shift, rounded to nearest even. A carry out of
    // the largest subnormal lands on the smallest normal, which is the right answer.
    mant |= 0x800000;
    const int shift = -e - 1;  // 14 .. 24
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
}

const float* fp16_table() {
    static const std::unique_ptr<float[]> table = [] {
        auto t = std::make_unique<float[]>(65536);
        for (uint32_t i = 0; i < 65536; ++i) t[i] = fp16_to_fp32(static_cast<uint16_t>(i));
        return t;
    }();
    return table.get();
}

}  // namespace kinglet
