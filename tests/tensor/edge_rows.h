// Deterministic float rows that stress the quantizers: zeros, constant rows, one-signed rows, outliers,
// tiny (subnormal fp16 scales) and huge magnitudes, exact rounding ties, sparse rows, sub-blocks of
// very different magnitude, float32 denormals. Only integer arithmetic and IEEE basic operations are
// used (no libm), so every machine generates the same bits.
#pragma once
#include <cstdint>
#include <vector>

namespace kinglet::test {

inline constexpr int kEdgeRowKinds = 17;

class SplitMix64 {
  public:
    explicit SplitMix64(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
    // Roughly normal with unit-ish spread: the sum of four uniforms, centred.
    // (Each draw is its own statement: the order of calls within one expression is unspecified.)
    float bell() {
        const float a = uniform(), b = uniform(), c = uniform(), d = uniform();
        return (a + b) + (c + d) - 2.0f;
    }

  private:
    uint64_t s_;
};

// Fills row `index` (its kind is index % kEdgeRowKinds) of n elements.
inline void edge_row(uint64_t index, float* x, int64_t n) {
    SplitMix64 rng(index * 0x2545f4914f6cdd1dull + 17);
    const int kind = static_cast<int>(index % kEdgeRowKinds);
    for (int64_t i = 0; i < n; ++i) {
        float v = 0.0f;
        switch (kind) {
            case 0:
                v = 0.0f;
                break;
            case 1:
                v = 0.3125f;
                break;
            case 2:
                v = -1.7f;
                break;
            case 3:
                v = -(rng.uniform() * 2.0f + 0.01f);
                break;
            case 4:
                v = rng.uniform() * 3.0f + 0.5f;
                break;
            case 5:
                v = rng.bell() * 0.05f;
                break;
            case 6: {
                const float b = rng.bell() * 0.05f;
                v = (rng.next() % 97) == 0 ? b * 40.0f : b;
                break;
            }
            case 7:
                v = rng.bell() * 1e-6f;
                break;
            case 8:
                v = rng.bell() * 12000.0f;
                break;
            case 9:
                v = static_cast<float>(static_cast<int>(rng.next() % 255) - 127);
                break;
            case 10:
                v = (i % 32 == 7) ? 127.0f
                                  : static_cast<float>(static_cast<int>(rng.next() % 254) - 127) + 0.5f;
                break;
            case 11:
                v = (rng.next() % 10 == 0) ? rng.bell() : 0.0f;
                break;
            case 12:
                v = ((i / 16) % 3 == 0) ? 0.0f : rng.bell();
                break;
            case 13: {
                static constexpr float kScale[4] = {1.0f, 1e-3f, 1e-20f, 1e-8f};
                v = rng.bell() * kScale[(i / 32) % 4];
                break;
            }
            case 14:
                v = rng.bell() * 1e-39f;
                break;
            case 15:
                v = ((i % 2) ? 1.0f : -0.01f) * (1.0f + rng.uniform());
                break;
            default:
                v = static_cast<float>(static_cast<int>(rng.next() % 17) - 8) * 0.25f;
                break;
        }
        x[i] = v;
    }
}

inline std::vector<float> edge_row(uint64_t index, int64_t n) {
    std::vector<float> x(static_cast<size_t>(n));
    edge_row(index, x.data(), n);
    return x;
}

}  // namespace kinglet::test
