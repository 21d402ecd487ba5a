#include "tensor/rows16.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "tensor/dtype.h"

namespace kinglet {
namespace {

size_t group_block_bytes(DType t) {
    return t == DType::Q8_0   ? kRows16Q8Block
           : t == DType::Q4_0 ? kRows16Q40Block
           : t == DType::Q5_0 ? kRows16Q50Block
           : t == DType::Q4_1 ? kRows16Q41Block
           : t == DType::Q5_1 ? kRows16Q51Block
           : t == DType::Q4_K ? kRows16Block
           : t == DType::Q5_K ? kRows16Q5Block
                              : kRows16Q6Block;
}

// Bytes [from, to) of every block of a group (Q8_0's levels) or of a plain row flip their top bit.
void flip_levels(uint8_t* p, int64_t nb, size_t block, size_t from, size_t to) {
    for (int64_t b = 0; b < nb; ++b)
        for (size_t i = from; i < to; ++i) p[size_t(b) * block + i] ^= 0x80;
}

// Q4_0, Q5_0, Q4_1 and Q5_1: row l's d, and where the block has them its m and qh, then its 4 chunks of qs,
// at the given offsets of the group's block (tensor/rows16.h).
template <class Block, class F>
void nibble_pieces(int l, F f, size_t m_at, size_t qh_at, size_t qs_at) {
    f(2 * l, offsetof(Block, d), 2);
    if constexpr (requires(Block b) { b.m; }) f(m_at + 2 * l, offsetof(Block, m), 2);
    if constexpr (requires(Block b) { b.qh; }) f(qh_at + 4 * l, offsetof(Block, qh), 4);
    for (int c = 0; c < 4; ++c) f(qs_at + 64 * c + 4 * l, offsetof(Block, qs) + 4 * c, 4);
}

// The one byte mapping between a plain super-block of row l of a group and the group's super-block:
// f(offset in the group's block, offset in the plain block, length) for every piece.
template <class F>
void for_each_piece(DType t, int l, F f) {
    if (t == DType::Q8_0) {
        f(2 * l, offsetof(BlockQ8_0, d), 2);
        for (int k = 0; k < 8; ++k) f(kRows16Q8Qs + 64 * k + 4 * l, offsetof(BlockQ8_0, qs) + 4 * k, 4);
    } else if (t == DType::Q4_0) {
        nibble_pieces<BlockQ4_0>(l, f, 0, 0, kRows16Q40Qs);
    } else if (t == DType::Q5_0) {
        nibble_pieces<BlockQ5_0>(l, f, 0, kRows16Q50Qh, kRows16Q50Qs);
    } else if (t == DType::Q4_1) {
        nibble_pieces<BlockQ4_1>(l, f, kRows16Q1M, 0, kRows16Q41Qs);
    } else if (t == DType::Q5_1) {
        nibble_pieces<BlockQ5_1>(l, f, kRows16Q1M, kRows16Q51Qh, kRows16Q51Qs);
    } else if (t == DType::Q4_K) {
        for (int c = 0; c < 32; ++c) f(kRows16Qs + 64 * c + 4 * l, offsetof(BlockQ4_K, qs) + 4 * c, 4);
        for (int i = 0; i < K_SCALE_SIZE; ++i)
            f(kRows16Scales + 16 * i + l, offsetof(BlockQ4_K, scales) + i, 1);
        f(kRows16D + 2 * l, offsetof(BlockQ4_K, d), 2);
        f(kRows16Dmin + 2 * l, offsetof(BlockQ4_K, dmin), 2);
    } else if (t == DType::Q5_K) {
        for (int i = 0; i < K_SCALE_SIZE; ++i)
            f(kRows16Scales + 16 * i + l, offsetof(BlockQ5_K, scales) + i, 1);
        f(kRows16D + 2 * l, offsetof(BlockQ5_K, d), 2);
        f(kRows16Dmin + 2 * l, offsetof(BlockQ5_K, dmin), 2);
        for (int c = 0; c < 8; ++c) f(kRows16Q5Qh + 64 * c + 4 * l, offsetof(BlockQ5_K, qh) + 4 * c, 4);
        for (int c = 0; c < 32; ++c) f(kRows16Q5Qs + 64 * c + 4 * l, offsetof(BlockQ5_K, qs) + 4 * c, 4);
    } else {
        // ql[4c ..] is lane c % 8 of half c / 16, the first or second of its triple; qh[4c ..] the third.
        for (int c = 0; c < 32; ++c)
            f(kRows16Q6Triple * (8 * (c / 16) + c % 8) + 64 * (c % 16 / 8) + 4 * l,
              offsetof(BlockQ6_K, ql) + 4 * c, 4);
        for (int c = 0; c < 16; ++c) f(kRows16Q6Triple * c + 128 + 4 * l, offsetof(BlockQ6_K, qh) + 4 * c, 4);
        for (int i = 0; i < QK_K / 16; ++i)
            f(kRows16Q6Scales + 16 * i + l, offsetof(BlockQ6_K, scales) + i, 1);
        f(kRows16Q6D + 2 * l, offsetof(BlockQ6_K, d), 2);
    }
}

}  // namespace

bool rows16_type(DType t) {
    return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q5_0 || t == DType::Q4_1 || t == DType::Q5_1 ||
           t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

bool can_repack_rows16(const MatRef& m) {
    return rows16_type(m.type) && m.layout == Layout::kPlain && m.rows > 0 && m.rows % kRows16 == 0 &&
           m.cols > 0 && m.cols % dtype_info(m.type).block_size == 0 &&
           m.row_bytes == row_bytes(m.type, m.cols);
}

MatRef repack_rows16(const MatRef& m, uint8_t* out, int threads) {
    if (!can_repack_rows16(m))
        fail(Errc::internal, "repack_rows16: a {} matrix of {} rows in layout {} cannot be grouped by 16",
             dtype_name(m.type), m.rows, int(m.layout));
    const int64_t nb = m.cols / dtype_info(m.type).block_size, n_groups = m.rows / kRows16;
    const size_t gb = group_block_bytes(m.type), pb = m.row_bytes / size_t(nb);
    auto groups = [&](int64_t g0, int64_t g1) {
        for (int64_t g = g0; g < g1; ++g) {
            uint8_t* dst = out + size_t(g) * kRows16 * m.row_bytes;
            for (int r = 0; r < kRows16; ++r) {
                const uint8_t* src = m.row(g * kRows16 + r);
                for (int64_t b = 0; b < nb; ++b)
                    for_each_piece(m.type, r, [&](size_t go, size_t po, size_t n) {
                        std::memcpy(dst + size_t(b) * gb + go, src + size_t(b) * pb + po, n);
                    });
            }
            if (m.type == DType::Q8_0) flip_levels(dst, nb, gb, kRows16Q8Qs, gb);
        }
    };
    // A big matrix is split between threads: much of the time goes to faulting in and zeroing the new
    // pages (`kinglet run -n 1` on the 1B Q4_K_M model: 0.93 s on one thread, 0.75 s on two).
    const int64_t n_threads =
        std::min<int64_t>({threads, n_groups, int64_t(m.rows) * int64_t(m.row_bytes) / (8 << 20) + 1});
    std::vector<std::thread> pool;
    for (int64_t i = 1; i < n_threads; ++i)
        pool.emplace_back(groups, n_groups * i / n_threads, n_groups * (i + 1) / n_threads);
    groups(0, n_threads > 1 ? n_groups / n_threads : n_groups);
    for (auto& t : pool) t.join();
    MatRef v = m;
    v.data = out;
    v.layout = Layout::kRows16;
    return v;
}

void rows16_row(const MatRef& m, int64_t r, uint8_t* out) {
    const uint8_t* src = m.row(r - r % kRows16);
    const int64_t nb = m.cols / dtype_info(m.type).block_size;
    const size_t gb = group_block_bytes(m.type), pb = m.row_bytes / size_t(nb);
    for (int64_t b = 0; b < nb; ++b)
        for_each_piece(m.type, int(r % kRows16), [&](size_t go, size_t po, size_t n) {
            std::memcpy(out + size_t(b) * pb + po, src + size_t(b) * gb + go, n);
        });
    if (m.type == DType::Q8_0) flip_levels(out, nb, pb, offsetof(BlockQ8_0, qs), pb);
}

const uint8_t* plain_row(const MatRef& m, int64_t r, std::vector<uint8_t>& buf) {
    if (m.layout == Layout::kPlain) return m.row(r);
    buf.resize(m.row_bytes);
    rows16_row(m, r, buf.data());
    return buf.data();
}

}  // namespace kinglet
