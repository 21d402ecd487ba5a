// Dequantization of the low-bit types kinglet reads but does not write: Q2_K, Q3_K (256-element
// super-blocks of 16 sub-blocks of 16) and the non-linear 4-bit IQ4_NL (blocks of 32) and IQ4_XS
// (super-blocks of 8 sub-blocks of 32), as ggml's dequantize_row_* define them. Each value is one float
// product of the (sub-)block scale and the level, as in ggml, so the results are bit-identical.
#include "tensor/fp16.h"
#include "tensor/quant_blocks.h"

namespace kinglet::detail {

// Q2_K: per 128 elements, 32 bytes whose bit pairs 2k, 2k+1 hold elements 32k .. 32k+31; each
// sub-block of 16 has a byte of scale (low nibble, times d) and min (high nibble, times dmin).
void dequantize_q2_K(const BlockQ2_K* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        for (int e = 0; e < QK_K; ++e) {
            const uint8_t sc = x[i].scales[e / 16];
            const int level = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            *y++ = d * (sc & 0xF) * level - dmin * (sc >> 4);
        }
    }
}

// Q3_K: the Q2_K bit pairs plus a high bit (bit e / 32 of hmask[e % 32]); a level is (pair | high << 2)
// - 4, in -4..3, and each sub-block of 16 has a signed 6-bit scale.
void dequantize_q3_K(const BlockQ3_K* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < QK_K; ++e) {
            const float dl = d * static_cast<float>(q3_K_scale(x[i].scales, e / 16) - 32);
            const int pair = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            const int high = (x[i].hmask[e % 32] >> (e / 32)) & 1;
            *y++ = dl * static_cast<float>((pair | (high << 2)) - 4);
        }
    }
}

// IQ4_NL: like Q4_0 (element j in the low nibble of byte j, element j + 16 in its high nibble), but the
// nibble indexes kIQ4Levels instead of being a level itself.
void dequantize_iq4_nl(const BlockIQ4_NL* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_NL; ++i, y += QK4_NL) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = d * kIQ4Levels[x[i].qs[j] & 0xF];
            y[j + 16] = d * kIQ4Levels[x[i].qs[j] >> 4];
        }
    }
}

// IQ4_XS: 8 IQ4_NL-like sub-blocks of 32 under one fp16 d, each with a 6-bit scale (bias 32).
void dequantize_iq4_xs(const BlockIQ4_XS* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 8; ++j, y += 32) {
            const float dl = d * static_cast<float>(iq4_xs_scale(x[i], j) - 32);
            const uint8_t* qs = x[i].qs + 16 * j;
            for (int l = 0; l < 16; ++l) {
                y[l] = dl * kIQ4Levels[qs[l] & 0xF];
                y[l + 16] = dl * kIQ4Levels[qs[l] >> 4];
            }
        }
    }
}

}  // namespace kinglet::detail
