// An independent decoder for the ggml block layouts, written from their published description (ggml's
// ggml-common.h block structs and the format notes in llama.cpp's docs), element by element in
// double precision: "element e is nibble so-and-so of byte such-and-such". It shares no code with
// src/tensor, so dequantize_row and vec_dot_ref can be checked against it.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "tensor/dtype.h"

namespace kinglet::test {

// IEEE binary16 -> double by the definition: (-1)^s * 2^(e-15) * 1.m, or 2^-14 * 0.m when e == 0.
inline double half_value(const uint8_t* p) {
    const unsigned h = p[0] | (p[1] << 8);
    const int s = (h >> 15) & 1, e = (h >> 10) & 31, m = h & 1023;
    if (e == 31) throw std::invalid_argument("inf/nan half in a test block");
    const double mag = e == 0 ? m * 0x1p-24 : (1024 + m) * 0x1p-25 * static_cast<double>(1u << e);
    return s ? -mag : mag;
}
inline uint8_t nibble(uint8_t byte, bool high) {
    return high ? byte >> 4 : byte & 15;
}

// Element e (0 <= e < block size) of one block of type t.
inline double decode_element(DType t, const uint8_t* b, int e) {
    switch (t) {
        case DType::Q4_0:  // d | 16 bytes: element j in the low nibble of byte j, j+16 in its high nibble
            return (nibble(b[2 + e % 16], e >= 16) - 8) * half_value(b);
        case DType::Q4_1:  // d | m | 16 bytes as Q4_0, unsigned
            return nibble(b[4 + e % 16], e >= 16) * half_value(b) + half_value(b + 2);
        case DType::Q5_0: {  // d | 32-bit little-endian high-bit mask | 16 bytes of low nibbles
            const int hi = (b[2 + e / 8] >> (e % 8)) & 1;
            return ((nibble(b[6 + e % 16], e >= 16) | hi << 4) - 16) * half_value(b);
        }
        case DType::Q5_1: {
            const int hi = (b[4 + e / 8] >> (e % 8)) & 1;
            return (nibble(b[8 + e % 16], e >= 16) | hi << 4) * half_value(b) + half_value(b + 2);
        }
        case DType::Q8_0:
            return static_cast<int8_t>(b[2 + e]) * half_value(b);
        case DType::Q8_1:
            return static_cast<int8_t>(b[4 + e]) * half_value(b);  // s (bytes 2-3) is not a value
        case DType::Q4_K:
        case DType::Q5_K: {
            // d | dmin | 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32 | (Q5_K: 32 bytes qh) | 128
            // bytes qs. Sub-blocks 0-3: scale = low 6 bits of byte j, min = low 6 bits of byte j+4.
            // Sub-blocks 4-7: low 4 bits in byte j+4 (scale low nibble, min high nibble), top 2 bits in the
            // top 2 bits of byte j-4 (scale) and byte j (min).
            const uint8_t* sc = b + 4;
            const int j = e / 32;
            int scale, min;
            if (j < 4) {
                scale = sc[j] & 63;
                min = sc[j + 4] & 63;
            } else {
                scale = (sc[j + 4] & 15) | ((sc[j - 4] >> 6) << 4);
                min = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
            }
            // Quants: per 64 elements, 32 bytes; the first 32 elements in low nibbles, the next in high.
            const uint8_t* qs = b + (t == DType::Q4_K ? 16 : 48);
            int q = nibble(qs[32 * (e / 64) + e % 32], e % 64 >= 32);
            if (t == DType::Q5_K) q |= ((b[16 + e % 32] >> (2 * (e / 64) + (e % 64 >= 32))) & 1) << 4;
            return half_value(b) * scale * q - half_value(b + 2) * min;
        }
        case DType::Q6_K: {
            // 128 bytes ql | 64 bytes qh | 16 int8 scales (one per 16) | d. Per 128 elements: ql bytes
            // 0-31 hold elements 0-31 (low nibble) and 64-95 (high), bytes 32-63 hold 32-63 and 96-127;
            // qh byte l holds bits 4-5 of elements l, l+32, l+64, l+96 in bit pairs 0, 2, 4, 6.
            const int half = e / 128, r = e % 128, l = r % 32, quarter = r / 32;
            const int low = nibble(b[64 * half + l + 32 * (quarter & 1)], quarter >= 2);
            const int high = (b[128 + 32 * half + l] >> (2 * quarter)) & 3;
            return half_value(b + 208) * static_cast<int8_t>(b[192 + e / 16]) * ((low | high << 4) - 32);
        }
        case DType::Q8_K: {  // float d | 256 int8 | 16 int16 sums
            float d;
            std::memcpy(&d, b, 4);
            return static_cast<double>(d) * static_cast<int8_t>(b[4 + e]);
        }
        default:
            throw std::invalid_argument("decode_element: type not covered");
    }
}

inline std::vector<double> decode_row(DType t, const void* data, int64_t n) {
    const auto& info = dtype_info(t);
    const auto* p = static_cast<const uint8_t*>(data);
    std::vector<double> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        out[static_cast<size_t>(i)] = decode_element(t, p + (i / info.block_size) * info.block_bytes,
                                                     static_cast<int>(i % info.block_size));
    return out;
}

}  // namespace kinglet::test
