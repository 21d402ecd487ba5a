// The reference attention of one query over a paged key/value cache: llama.cpp's CPU flash attention
// (ggml_compute_forward_flash_attn_ext_f16) step by step, so that an F16 cache gives llama.cpp's numbers:
//   - with an F16 cache the query is rounded to F16 and every key dot product is ggml_vec_dot_f16 on
//     AVX-512: for head_dim >= 64, 64-element chunks in 4 x 16 float lanes with one FMA per element,
//     lanes reduced as (a0 + a2) + (a1 + a3) and then by halving (16 -> 8 -> 4 -> 2 -> 1), the
//     remaining elements added in double; below 64 elements, a double sum of the (exact) products;
//   - one pass with the online softmax; the weighted sum of values is kept in F16, each update
//     f16(fma(v, vs, f32(acc))) and each rescale f16(f32(acc) * ms); the result is acc * (1 / S).
// An F32 cache follows the same order in float (its products are rounded, its accumulator is float).
// A Q8_0 cache is what llama.cpp does for a quantized K and V: the query is quantized to Q8_0 (the K
// type's vec_dot type, with the runtime activation quantizer) and each score is the Q8_0 x Q8_0 dot
// (tensor/dot.cpp's block order); each value row is converted to float (level * scale, exact) and
// accumulated in float, f32 acc = fma(v, vs, acc), rescaled acc * ms, as the F32 cache.
#include <cmath>
#include <cstring>
#include <vector>

#include "tensor/dot.h"
#include "tensor/fp16.h"
#include "tensor/kernels/kernels.h"
#include "tensor/quant.h"

namespace kinglet::kernels {
namespace {

inline float load(const uint8_t* p, int i, bool f16) {
    if (f16) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        return fp16_to_fp32_fast(h);
    }
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
}

float key_dot(const float* q, const uint8_t* k, int n, bool f16) {
    double sum = 0;
    const int bulk = n >= 64 ? n - n % 64 : 0;
    if (bulk) {
        float lanes[4][16] = {};
        for (int i = 0; i < bulk; i += 64)
            for (int j = 0; j < 4; ++j)
                for (int l = 0; l < 16; ++l) {
                    const int e = i + 16 * j + l;
                    lanes[j][l] = std::fma(q[e], load(k, e, f16), lanes[j][l]);
                }
        float r[16];
        for (int l = 0; l < 16; ++l) r[l] = (lanes[0][l] + lanes[2][l]) + (lanes[1][l] + lanes[3][l]);
        for (int w = 8; w >= 1; w /= 2)
            for (int l = 0; l < w; ++l) r[l] = r[l] + r[l + w];
        sum = r[0];
    }
    for (int i = bulk; i < n; ++i) sum += double(q[i] * load(k, i, f16));
    return float(sum);
}

// The online softmax over positions, in llama.cpp's order: a score above the running maximum M
// becomes the new maximum, the values accumulated so far are rescaled by ms = exp(M_old - M) and the
// new value weighs 1; any other score's value weighs vs = exp(score - M). S sums the weights.
struct OnlineSoftmax {
    struct Step {
        float ms = 1.0f, vs = 1.0f;
        bool rescale = false;
    };
    float M = -INFINITY, S = 0.0f;

    // score: the dot product times score_mul(a); soft-capped here as ggml does (tanh of the dot product
    // times scale / softcap, times softcap).
    Step add(float score, float softcap) {
        if (softcap > 0) score = softcap * std::tanh(score);
        Step st;
        if (score > M) {
            st.ms = std::exp(M - score);
            st.rescale = true;
            M = score;
        } else {
            st.vs = std::exp(score - M);
        }
        S = S * st.ms + st.vs;
        return st;
    }
    float inverse_sum() const { return S == 0.0f ? 0.0f : 1.0f / S; }
};

float score_mul(const AttentionArgs& a) { return a.softcap > 0 ? a.scale / a.softcap : a.scale; }

void attention_q8_0(const AttentionArgs& a, const float* q, float* out) {
    const int hd = a.head_dim, hdv = a.head_dim_v;
    const size_t k_row = row_bytes(DType::Q8_0, hd), v_row = row_bytes(DType::Q8_0, hdv);
    thread_local std::vector<BlockQ8_0> qq;
    thread_local std::vector<float> acc, v;
    qq.resize(size_t(hd) / QK8_0);
    acc.assign(hdv, 0.0f);
    v.resize(hdv);
    quantize_activation(DType::Q8_0, q, qq.data(), hd);
    OnlineSoftmax sm;
    for (int p = a.first_pos; p < a.n_pos; ++p) {
        const auto st = sm.add(dot_q8_0_lanes(hd, a.k.row(p, k_row), qq.data()) * score_mul(a), a.softcap);
        if (st.rescale)
            for (int j = 0; j < hdv; ++j) acc[j] = acc[j] * st.ms;
        dequantize_row(DType::Q8_0, a.v.row(p, v_row), v.data(), hdv);
        for (int j = 0; j < hdv; ++j) acc[j] = std::fma(v[j], st.vs, acc[j]);
    }
    const float inv = sm.inverse_sum();
    for (int j = 0; j < hdv; ++j) out[j] = acc[j] * inv;
}

}  // namespace

void attention_ref(const AttentionArgs& a, const float* q, float* out) {
    if (a.kv_type == DType::Q8_0) return attention_q8_0(a, q, out);
    const bool f16 = a.kv_type == DType::F16;
    const int hd = a.head_dim, hdv = a.head_dim_v;
    const size_t k_row = size_t(hd) * (f16 ? 2 : 4), v_row = size_t(hdv) * (f16 ? 2 : 4);
    thread_local std::vector<float> qr, acc;
    qr.resize(hd);
    acc.assign(hdv, 0.0f);  // with an F16 cache: values of halves, rounded after every step
    for (int j = 0; j < hd; ++j) qr[j] = f16 ? fp16_to_fp32(fp32_to_fp16(q[j])) : q[j];
    auto round = [f16](float x) { return f16 ? fp16_to_fp32(fp32_to_fp16(x)) : x; };
    OnlineSoftmax sm;
    for (int p = a.first_pos; p < a.n_pos; ++p) {
        const auto st = sm.add(key_dot(qr.data(), a.k.row(p, k_row), hd, f16) * score_mul(a), a.softcap);
        if (st.rescale)
            for (int j = 0; j < hdv; ++j) acc[j] = round(acc[j] * st.ms);
        const uint8_t* vp = a.v.row(p, v_row);
        for (int j = 0; j < hdv; ++j) acc[j] = round(std::fma(load(vp, j, f16), st.vs, acc[j]));
    }
    const float inv = sm.inverse_sum();
    for (int j = 0; j < hdv; ++j) out[j] = acc[j] * inv;
}

// The reference does each row on its own (what every SIMD family must reproduce).
void attention_group_ref(const AttentionArgs& a, int n_q, const float* q, size_t q_stride, float* out,
                         size_t out_stride) {
    for (int h = 0; h < n_q; ++h) attention_ref(a, q + size_t(h) * q_stride, out + size_t(h) * out_stride);
}

}  // namespace kinglet::kernels
