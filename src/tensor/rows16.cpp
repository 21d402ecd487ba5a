#include "tensor/rows16.h"

#include <cstring>

#include "core/error.h"
#include "tensor/dtype.h"

namespace kinglet {

bool can_repack_rows16(const MatRef& m) {
    return m.type == DType::Q4_K && m.layout == Layout::kPlain && m.rows > 0 && m.rows % kRows16 == 0 &&
           m.cols % QK_K == 0 && m.row_bytes == size_t(m.cols / QK_K) * sizeof(BlockQ4_K);
}

MatRef repack_rows16(const MatRef& m, uint8_t* out) {
    if (!can_repack_rows16(m))
        fail(Errc::internal, "repack_rows16: a {} matrix of {} rows in layout {} cannot be grouped by 16",
             dtype_name(m.type), m.rows, int(m.layout));
    const int64_t nb = m.cols / QK_K;
    for (int64_t g = 0; g < m.rows / kRows16; ++g) {
        uint8_t* dst = out + size_t(g) * kRows16 * m.row_bytes;
        for (int64_t b = 0; b < nb; ++b, dst += kRows16Block) {
            for (int r = 0; r < kRows16; ++r) {
                const BlockQ4_K& x = reinterpret_cast<const BlockQ4_K*>(m.row(g * kRows16 + r))[b];
                for (int c = 0; c < 32; ++c) std::memcpy(dst + 64 * c + 4 * r, x.qs + 4 * c, 4);
                for (int i = 0; i < K_SCALE_SIZE; ++i) dst[kRows16Scales + 16 * i + r] = x.scales[i];
                std::memcpy(dst + kRows16D + 2 * r, &x.d, 2);
                std::memcpy(dst + kRows16Dmin + 2 * r, &x.dmin, 2);
            }
        }
    }
    MatRef v = m;
    v.data = out;
    v.layout = Layout::kRows16;
    return v;
}

void rows16_row(const MatRef& m, int64_t r, uint8_t* out) {
    const uint8_t* src = m.row(r - r % kRows16);
    const int l = int(r % kRows16);
    BlockQ4_K* x = reinterpret_cast<BlockQ4_K*>(out);
    for (int64_t b = 0; b < m.cols / QK_K; ++b, src += kRows16Block) {
        for (int c = 0; c < 32; ++c) std::memcpy(x[b].qs + 4 * c, src + 64 * c + 4 * l, 4);
        for (int i = 0; i < K_SCALE_SIZE; ++i) x[b].scales[i] = src[kRows16Scales + 16 * i + l];
        std::memcpy(&x[b].d, src + kRows16D + 2 * l, 2);
        std::memcpy(&x[b].dmin, src + kRows16Dmin + 2 * l, 2);
    }
}

const uint8_t* plain_row(const MatRef& m, int64_t r, std::vector<uint8_t>& buf) {
    if (m.layout == Layout::kPlain) return m.row(r);
    buf.resize(m.row_bytes);
    rows16_row(m, r, buf.data());
    return buf.data();
}

}  // namespace kinglet
