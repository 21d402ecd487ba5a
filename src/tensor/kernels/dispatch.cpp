// Chooses the kernel family once: the widest this build has and this CPU runs, unless KINGLET_KERNELS
// names a lower one. The SIMD tables are plain data defined in their ISA's files, so nothing compiled
// for a wider ISA runs before its features are confirmed.
#include <cstdlib>
#include <cstring>

#include "core/cpu.h"
#include "core/error.h"
#include "core/log.h"
#include "tensor/dot.h"
#include "tensor/kernels/kernels.h"

namespace kinglet::kernels {

extern const Family avx2_family;
extern const Family avx512_family;

namespace {

void quantize_q8_0_ref(const float* x, void* y, int64_t n) { quantize_activation(DType::Q8_0, x, y, n); }
void quantize_q8_1_ref(const float* x, void* y, int64_t n) { quantize_activation(DType::Q8_1, x, y, n); }
void quantize_q8_K_ref(const float* x, void* y, int64_t n) { quantize_activation(DType::Q8_K, x, y, n); }
void to_f16_ref(const float* x, void* y, int64_t n) { quantize_activation(DType::F16, x, y, n); }

constexpr Family make_scalar() {
    Family f{};
    f.name = "scalar";
    f.quantize_q8_0 = quantize_q8_0_ref;
    f.quantize_q8_1 = quantize_q8_1_ref;
    f.quantize_q8_K = quantize_q8_K_ref;
    f.to_f16 = to_f16_ref;
    for (auto& g : f.gemm) g = gemm_ref;
    f.swiglu = swiglu_ref;
    f.attention = attention_ref;
    f.attention_group = attention_group_ref;
    f.exp_weights = exp_weights_ref;
    f.max = max_ref;
    f.rope = rope_ref;
    return f;
}

constexpr Family scalar_family = make_scalar();

bool runs_avx2(const CpuFeatures& c) { return c.avx2 && c.fma && c.f16c && c.bmi2; }
bool runs_avx512(const CpuFeatures& c) {
    return runs_avx2(c) && c.avx512f && c.avx512bw && c.avx512vl && c.avx512dq && c.avx512vnni;
}

// The AVX-512 family as this CPU runs it. Its BF16 product is built on vdpbf16ps (AVX512-BF16), which
// CPUs with AVX-512 VNNI but not AVX512-BF16 (Cascade Lake, Ice Lake) lack: there BF16 widens to float.
const Family& avx512_here() {
    static const Family f = [] {
        Family g = avx512_family;
        if (!cpu_features().avx512bf16) g.gemm[int(DType::BF16)] = avx512::gemm_bf16_widen;
        return g;
    }();
    return f;
}

const Family& choose() {
    const CpuFeatures& c = cpu_features();
    const Family* best = runs_avx512(c) ? &avx512_here() : runs_avx2(c) ? &avx2_family : &scalar_family;
    const char* env = std::getenv("KINGLET_KERNELS");
    if (!env || !*env) return *best;
    const Family* want = family(env);
    if (!want) {
        if (std::strcmp(env, "avx2") && std::strcmp(env, "avx512"))
            fail(Errc::invalid_argument, "KINGLET_KERNELS={}: expected scalar, avx2 or avx512", env);
        log::warn("KINGLET_KERNELS={}: this CPU does not run it; using {}", env, best->name);
        return *best;
    }
    return *want;
}

}  // namespace

const Family& active() {
    static const Family& f = choose();
    return f;
}

const Family* family(const char* name) {
    const CpuFeatures& c = cpu_features();
    if (!std::strcmp(name, "scalar")) return &scalar_family;
    if (!std::strcmp(name, "avx2")) return runs_avx2(c) ? &avx2_family : nullptr;
    if (!std::strcmp(name, "avx512")) return runs_avx512(c) ? &avx512_here() : nullptr;
    return nullptr;
}

}  // namespace kinglet::kernels
