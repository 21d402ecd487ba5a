// Layout::kRows16 (tensor/mat_ref.h): Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K and Q6_K weights stored 16
// rows to a group, one row per 32-bit lane of a 512-bit vector, made at load time for the kernel families
// that want it (Family::rows16). A group takes exactly the bytes of its 16 plain rows, super-block by
// super-block; a "chunk" is 4 bytes of each of the 16 rows, row 0 first (64 bytes).
//
// Q8_0, per block of 32 (16 x 34 = 544 bytes):
//   [0, 32)       the 16 rows' d (F16);
//   [32, 544)     8 chunks: chunk k holds levels 4k .. 4k + 3 of each row, each byte XOR 0x80 (the level
//                 + 128, unsigned, as vpdpbusd wants it; taking a row out flips them back).
// Q4_0, per block of 32 (16 x 18 = 288 bytes):
//   [0, 32)       the 16 rows' d (F16);
//   [32, 288)     4 chunks of qs, as Q5_0's.
// Q4_1, per block of 32 (16 x 20 = 320 bytes): the 16 rows' d, then their m (F16, [32, 64)), then 4 chunks
//   of qs as Q5_0's ([64, 320)).
// Q5_1, per block of 32 (16 x 24 = 384 bytes): d, m, one chunk of qh ([64, 128)), 4 chunks of qs
//   ([128, 384)).
// Q5_0, per block of 32 (16 x 22 = 352 bytes):
//   [0, 32)       the 16 rows' d (F16);
//   [32, 96)      one chunk of qh: the 16 rows' 32 fifth bits (bit j: element j);
//   [96, 352)     4 chunks of qs: chunk c holds qs[4c .. 4c + 3] of each row (low nibbles: elements
//                 4c .. 4c + 3; high nibbles: elements 16 + 4c .. 16 + 4c + 3).
// Q4_K, per super-block (16 x 144 = 2304 bytes), in the order the kernels read them:
//   [0, 192)      the 12 packed scale bytes as 12 rows of 16: byte i of every row, row 0 first;
//   [192, 224)    the 16 rows' d (F16), then [224, 256) their dmin;
//   [256, 2304)   32 chunks: chunk c holds bytes 4c .. 4c + 3 of each row's qs (their low nibbles are
//                 lane c % 8 of sub-block 2 (c / 8), the high ones of the next).
// Q5_K, per super-block (16 x 176 = 2816 bytes): scales, d and dmin as Q4_K's ([0, 256)), then
//   [256, 768)    8 chunks of qh: chunk o holds qh[4o .. 4o + 3] (bit j: the fifth bit of lane o of
//                 sub-block j);
//   [768, 2816)   32 chunks of qs, as Q4_K's.
// Q6_K, per super-block (16 x 210 = 3360 bytes):
//   [0, 3072)     16 triples of chunks, in the order the kernels read them: triple 8h + o holds
//                 ql[64h + 4o ..], ql[64h + 32 + 4o ..] and qh[32h + 4o ..] (4 bytes each), the bits of
//                 lane o of the 4 groups of 32 in elements 128h .. 128h + 127;
//   [3072, 3328)  the 16 int8 scales as 16 rows of 16: scale i of every row, row 0 first;
//   [3328, 3360)  the 16 rows' d (F16).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tensor/mat_ref.h"

namespace kinglet {

constexpr int kRows16 = 16;
constexpr size_t kRows16Q8Block = 16 * 34, kRows16Q8Qs = 32;  // one Q8_0 block of one group
constexpr size_t kRows16Q40Block = 16 * 18, kRows16Q40Qs = 32;  // one Q4_0 block of one group
// One Q4_1 / Q5_1 block of one group; kRows16Q1M: where both hold the 16 rows' offsets m.
constexpr size_t kRows16Q1M = 32, kRows16Q41Block = 16 * 20, kRows16Q41Qs = 64;
constexpr size_t kRows16Q51Block = 16 * 24, kRows16Q51Qh = 64, kRows16Q51Qs = 128;
constexpr size_t kRows16Q50Block = 16 * 22, kRows16Q50Qh = 32,
                 kRows16Q50Qs = 96;        // one Q5_0 block of one group
constexpr size_t kRows16Block = 16 * 144;  // one Q4_K super-block of one group
constexpr size_t kRows16Scales = 0, kRows16D = 192, kRows16Dmin = 224, kRows16Qs = 256;
constexpr size_t kRows16Q5Block = 16 * 176;  // one Q5_K super-block of one group
constexpr size_t kRows16Q5Qh = 256, kRows16Q5Qs = 768;
constexpr size_t kRows16Q6Block = 16 * 210;  // one Q6_K super-block of one group
constexpr size_t kRows16Q6Triple = 192, kRows16Q6Scales = 3072, kRows16Q6D = 3328;

// The types with a grouped layout: Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K and Q6_K.
bool rows16_type(DType t);

// A matrix in the plain layout that can be regrouped: a rows16_type, rows in whole groups of 16.
bool can_repack_rows16(const MatRef& m);

// Writes m (plain, can_repack_rows16) in the kRows16 layout to out (m.rows * m.row_bytes bytes) and
// returns the view of it; a matrix of more than 8 MiB is split between up to `threads` threads.
MatRef repack_rows16(const MatRef& m, uint8_t* out, int threads = 1);

// Row r of a kRows16 matrix in the plain layout (m.row_bytes bytes).
void rows16_row(const MatRef& m, int64_t r, uint8_t* out);

// Row r in the plain layout whatever m's layout: m.row(r) itself, or a kRows16 row taken out of its
// group into buf.
const uint8_t* plain_row(const MatRef& m, int64_t r, std::vector<uint8_t>& buf);

}  // namespace kinglet
