#include "tensor/quant.h"

#include <cstring>
#include <string_view>

#include "core/error.h"
#include "tensor/fp16.h"
#include "tensor/quant_blocks.h"

namespace kinglet {
namespace {

bool is_convertible(DType t) {
    switch (t) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::Q8_1:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
        case DType::Q8_K:
            return true;
        default:
            return false;
    }
}

// Types kinglet reads (dequantizes and computes with) but has no quantizer for.
bool is_read_only(DType t) {
    return t == DType::Q2_K || t == DType::Q3_K || t == DType::IQ4_NL || t == DType::IQ4_XS;
}

void check(DType t, int64_t n, const char* what) {
    const bool dequantizing = std::string_view(what) == "dequantize";
    if (!dequantizing && is_read_only(t))
        fail(Errc::unsupported, "cannot quantize to {}: kinglet reads this type but has no quantizer for it "
             "(llama.cpp's quantizer writes it)", dtype_name(t));
    if (!is_convertible(t) && !is_read_only(t))
        fail(Errc::unsupported, "cannot {} tensor type {}: kinglet does not support it", what, dtype_name(t));
    const int64_t bs = dtype_info(t).block_size;
    if (n < 0 || n % bs != 0)
        fail(Errc::invalid_argument, "cannot {} a row of {} elements as {}: it must be a multiple of {}",
             what, n, dtype_name(t), bs);
}

template <typename Block>
const Block* blocks(const void* p) {
    return static_cast<const Block*>(p);
}
template <typename Block>
Block* blocks(void* p) {
    return static_cast<Block*>(p);
}

}  // namespace

bool can_quantize(DType t) {
    return is_convertible(t);
}
bool can_dequantize(DType t) {
    return is_convertible(t) || is_read_only(t);
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
    check(t, n, "dequantize");
    using namespace detail;
    switch (t) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case DType::F16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
            return;
        }
        case DType::BF16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
            return;
        }
        case DType::Q4_0:
            return dequantize_q4_0(blocks<BlockQ4_0>(src), dst, n);
        case DType::Q4_1:
            return dequantize_q4_1(blocks<BlockQ4_1>(src), dst, n);
        case DType::Q5_0:
            return dequantize_q5_0(blocks<BlockQ5_0>(src), dst, n);
        case DType::Q5_1:
            return dequantize_q5_1(blocks<BlockQ5_1>(src), dst, n);
        case DType::Q8_0:
            return dequantize_q8_0(blocks<BlockQ8_0>(src), dst, n);
        case DType::Q8_1:
            return dequantize_q8_1(blocks<BlockQ8_1>(src), dst, n);
        case DType::Q4_K:
            return dequantize_q4_K(blocks<BlockQ4_K>(src), dst, n);
        case DType::Q5_K:
            return dequantize_q5_K(blocks<BlockQ5_K>(src), dst, n);
        case DType::Q6_K:
            return dequantize_q6_K(blocks<BlockQ6_K>(src), dst, n);
        case DType::Q8_K:
            return dequantize_q8_K(blocks<BlockQ8_K>(src), dst, n);
        case DType::Q2_K:
            return dequantize_q2_K(blocks<BlockQ2_K>(src), dst, n);
        case DType::Q3_K:
            return dequantize_q3_K(blocks<BlockQ3_K>(src), dst, n);
        case DType::IQ4_NL:
            return dequantize_iq4_nl(blocks<BlockIQ4_NL>(src), dst, n);
        case DType::IQ4_XS:
            return dequantize_iq4_xs(blocks<BlockIQ4_XS>(src), dst, n);
        default:
            break;
    }
    fail(Errc::internal, "dequantize_row: no converter for {}", dtype_name(t));
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
    check(t, n, "quantize");
    using namespace detail;
    switch (t) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case DType::F16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
            return;
        }
        case DType::BF16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
            return;
        }
        case DType::Q4_0:
            return quantize_q4_0(src, blocks<BlockQ4_0>(dst), n);
        case DType::Q4_1:
            return quantize_q4_1(src, blocks<BlockQ4_1>(dst), n);
        case DType::Q5_0:
            return quantize_q5_0(src, blocks<BlockQ5_0>(dst), n);
        case DType::Q5_1:
            return quantize_q5_1(src, blocks<BlockQ5_1>(dst), n);
        case DType::Q8_0:
            return quantize_q8_0(src, blocks<BlockQ8_0>(dst), n);
        case DType::Q8_1:
            return quantize_q8_1(src, blocks<BlockQ8_1>(dst), n);
        case DType::Q4_K:
            return quantize_q4_K(src, blocks<BlockQ4_K>(dst), n);
        case DType::Q5_K:
            return quantize_q5_K(src, blocks<BlockQ5_K>(dst), n);
        case DType::Q6_K:
            return quantize_q6_K(src, blocks<BlockQ6_K>(dst), n);
        case DType::Q8_K:
            return quantize_q8_K(src, blocks<BlockQ8_K>(dst), n);
        default:
            break;
    }
    fail(Errc::internal, "quantize_row: no converter for {}", dtype_name(t));
}

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
    quantize_row(DType::Q8_0, x, y, n);
}
void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t n) {
    quantize_row(DType::Q8_1, x, y, n);
}
void quantize_row_q8_K(const float* x, BlockQ8_K* y, int64_t n) {
    quantize_row(DType::Q8_K, x, y, n);
}

}  // namespace kinglet
