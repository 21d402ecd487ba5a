// The float side of the scalar reference dot products (internal to tensor/): 8 lanes, each
// accumulating one fused multiply-add per block, summed at the end as (l0+l4 + l2+l6) + (l1+l5 + l3+l7),
// the order of llama.cpp's x86 kernels and of kinglet's SIMD kernels (see dot.cpp).
#pragma once
#include <cmath>
#include <cstdint>

namespace kinglet::detail {

struct Lanes {
    float acc[8] = {};
    void add(float d, const int32_t (&lane)[8]) {
        for (int l = 0; l < 8; ++l) acc[l] = std::fma(d, static_cast<float>(lane[l]), acc[l]);
    }
    float sum() const {
        const float s0 = acc[0] + acc[4], s1 = acc[1] + acc[5], s2 = acc[2] + acc[6], s3 = acc[3] + acc[7];
        return (s0 + s2) + (s1 + s3);
    }
};

}  // namespace kinglet::detail
