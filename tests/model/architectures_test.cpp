// Properties that tie the other architectures' switches to the verified llama path, and the load-time
// errors for files kinglet cannot run.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <numeric>

#include "core/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/forward.h"
#include "support/paths.h"

using namespace kinglet;

namespace {

std::string tmp(const std::string& name) { return (std::filesystem::temp_directory_path() / name).string(); }

// Copies a GGUF, letting `edit` change metadata keys and tensor bytes.
void rewrite(const std::string& in, const std::string& out,
             const std::function<std::string(const std::string&)>& rename_key,
             const std::function<void(const gguf::TensorInfo&, std::vector<uint8_t>&, DType&)>& edit,
             const std::string& arch = "") {
    auto r = gguf::Reader::open(in);
    gguf::Writer w;
    for (const auto& [k, v] : r->metadata()) w.set(rename_key(k), v);
    if (!arch.empty()) w.set("general.architecture", gguf::Value::string(arch));
    for (const auto& t : r->tensors()) {
        std::vector<uint8_t> data(t.data, t.data + t.n_bytes);
        DType type = t.type;
        edit(t, data, type);
        std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
        w.add_tensor(t.name, type, ne, std::move(data));
    }
    w.write(out);
}

std::vector<std::vector<float>> greedy_logits(const Model& m, std::vector<int32_t> prompt, int n) {
    const HParams& hp = m.hparams();
    KvCache kv(hp, DType::F32, 8, 32);
    ThreadPool pool(1);
    Forward fwd(m, kv, pool, 64);
    std::vector<int32_t> table(8);
    std::iota(table.begin(), table.end(), 0);
    std::vector<std::vector<float>> out;
    std::vector<float> logits(hp.n_vocab);
    int pos = 0;
    for (int step = 0; step < n; ++step) {
        Batch b;
        b.seqs.push_back({table.data(), 8});
        for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], pos++, 0, i + 1 == prompt.size());
        fwd.run(b, logits.data());
        out.push_back(logits);
        prompt = {int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin())};
    }
    return out;
}

}  // namespace

// GGUF llama files store Q and K rows permuted so that adjacent-pair ("normal") RoPE applies; Qwen2
// files store them unpermuted for half-split ("NeoX") RoPE. Undoing the permutation and declaring the
// model qwen2 must therefore give the same logits: this checks the NeoX path against the llama one.
TEST(Architectures, Qwen2NeoxRopeEqualsPermutedLlama) {
    const std::string src = (test::models_dir() / "stories260K" / "model-f32.gguf").string();
    const std::string dst = tmp("kinglet-qwen2-from-llama.gguf");
    auto base = Model::load(src);
    const int hd = base->hparams().head_dim;
    rewrite(
        src, dst,
        [](const std::string& k) { return k.rfind("llama.", 0) == 0 ? "qwen2." + k.substr(6) : k; },
        [&](const gguf::TensorInfo& t, std::vector<uint8_t>& data, DType&) {
            const bool qk = t.name.find("attn_q.weight") != std::string::npos ||
                            t.name.find("attn_k.weight") != std::string::npos;
            if (!qk) return;
            const size_t row = size_t(t.ne[0]) * 4;
            std::vector<uint8_t> out(data.size());
            for (int64_t head = 0; head < t.ne[1] / hd; ++head)
                for (int i = 0; i < hd / 2; ++i) {
                    const size_t h0 = size_t(head) * hd;
                    std::memcpy(&out[(h0 + i) * row], &data[(h0 + 2 * i) * row], row);
                    std::memcpy(&out[(h0 + i + hd / 2) * row], &data[(h0 + 2 * i + 1) * row], row);
                }
            data = std::move(out);
        },
        "qwen2");
    auto qwen = Model::load(dst);
    ASSERT_EQ(qwen->hparams().arch, "qwen2");
    auto a = greedy_logits(*base, {1, 403, 407, 261, 378}, 12);
    auto b = greedy_logits(*qwen, {1, 403, 407, 261, 378}, 12);
    for (size_t s = 0; s < a.size(); ++s)
        for (size_t i = 0; i < a[s].size(); ++i) ASSERT_NEAR(a[s][i], b[s][i], 1e-4) << "step " << s << " id " << i;
    std::filesystem::remove(dst);
}

// Biases are added after the projections (Qwen2 has them on Q, K, V). Softmax weights sum to one, so a
// bias c on V adds exactly c to every head's attention output, which attn_output maps to W_o c: a model
// with V bias c must equal the same model with attn_output bias W_o c instead.
TEST(Architectures, ValueBiasEqualsOutputBias) {
    const std::string src = (test::models_dir() / "stories260K" / "model-f32.gguf").string();
    const std::string with_v = tmp("kinglet-bias-v.gguf"), with_o = tmp("kinglet-bias-o.gguf");
    auto base = Model::load(src);
    const HParams& hp = base->hparams();
    const int hd = hp.head_dim, kv_dim = hp.n_head_kv * hd, q_dim = hp.n_head * hd;
    std::vector<float> c(kv_dim);
    for (int i = 0; i < kv_dim; ++i) c[i] = 0.05f * float((i * 37) % 11 - 5);
    auto r = gguf::Reader::open(src);
    gguf::Writer wv, wo;
    for (const auto& [k, v] : r->metadata()) {
        wv.set(k, v);
        wo.set(k, v);
    }
    auto bytes = [](const std::vector<float>& f) {
        std::vector<uint8_t> b(f.size() * 4);
        std::memcpy(b.data(), f.data(), b.size());
        return b;
    };
    for (const auto& t : r->tensors()) {
        std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
        wv.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
        wo.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
        const std::string prefix = t.name.substr(0, t.name.find_last_of('.', t.name.size() - 8) + 1);
        if (t.name.find("attn_v.weight") != std::string::npos) wv.add_tensor(prefix + "attn_v.bias", DType::F32, {kv_dim}, bytes(c));
        if (t.name.find("attn_output.weight") != std::string::npos) {
            // W_o is [q_dim -> n_embd]; head h reads V head h / gqa.
            const float* W = reinterpret_cast<const float*>(t.data);
            std::vector<float> bo(hp.n_embd);
            for (int o = 0; o < hp.n_embd; ++o) {
                double s = 0;
                for (int i = 0; i < q_dim; ++i) s += double(W[size_t(o) * q_dim + i]) * c[(i / hd) / hp.n_gqa() * hd + i % hd];
                bo[o] = float(s);
            }
            wo.add_tensor(prefix + "attn_output.bias", DType::F32, {hp.n_embd}, bytes(bo));
        }
    }
    wv.write(with_v);
    wo.write(with_o);
    auto mv = Model::load(with_v);
    auto mo = Model::load(with_o);
    ASSERT_NE(mv->weights().layers[0].bv, nullptr);
    ASSERT_NE(mo->weights().layers[0].bo, nullptr);
    auto a = greedy_logits(*mv, {1, 403, 407, 261}, 8);
    auto b = greedy_logits(*mo, {1, 403, 407, 261}, 8);
    auto plain = greedy_logits(*base, {1, 403, 407, 261}, 1);
    double moved = 0;
    for (size_t i = 0; i < a[0].size(); ++i) moved = std::max(moved, double(std::abs(a[0][i] - plain[0][i])));
    EXPECT_GT(moved, 0.01) << "the bias should change the logits";
    for (size_t s = 0; s < a.size(); ++s)
        for (size_t i = 0; i < a[s].size(); ++i) ASSERT_NEAR(a[s][i], b[s][i], 1e-3) << "step " << s << " id " << i;
    std::filesystem::remove(with_v);
    std::filesystem::remove(with_o);
}

// Llama 3's rope_freqs divide each rotation frequency; linear scaling (rope.scaling.factor f) divides
// the position by f. With every factor equal to f the two must agree, and both must differ from the
// unscaled model.
TEST(Architectures, RopeFrequencyFactorsActLikeLinearScaling) {
    const std::string src = (test::models_dir() / "stories260K" / "model-f32.gguf").string();
    const std::string with_freqs = tmp("kinglet-rope-freqs.gguf"), with_linear = tmp("kinglet-rope-linear.gguf");
    auto base = Model::load(src);
    const int half = base->hparams().n_rot / 2;
    auto r = gguf::Reader::open(src);
    gguf::Writer wf, wl;
    for (const auto& [k, v] : r->metadata()) {
        wf.set(k, v);
        wl.set(k, v);
    }
    wl.set("llama.rope.scaling.type", gguf::Value::string("linear"));
    wl.set("llama.rope.scaling.factor", gguf::Value::f32(4.0f));
    for (const auto& t : r->tensors()) {
        std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
        wf.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
        wl.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
    }
    std::vector<float> fours(half, 4.0f);
    std::vector<uint8_t> fb(fours.size() * 4);
    std::memcpy(fb.data(), fours.data(), fb.size());
    wf.add_tensor("rope_freqs.weight", DType::F32, {half}, fb);
    wf.write(with_freqs);
    wl.write(with_linear);
    auto mf = Model::load(with_freqs);
    auto ml = Model::load(with_linear);
    ASSERT_NE(mf->weights().rope_freqs, nullptr);
    EXPECT_FLOAT_EQ(ml->hparams().rope_freq_scale, 0.25f);
    auto a = greedy_logits(*mf, {1, 403, 407, 261, 378, 432}, 6);
    auto b = greedy_logits(*ml, {1, 403, 407, 261, 378, 432}, 6);
    auto c = greedy_logits(*base, {1, 403, 407, 261, 378, 432}, 6);
    double diff_from_base = 0;
    for (size_t s = 0; s < a.size(); ++s)
        for (size_t i = 0; i < a[s].size(); ++i) {
            ASSERT_NEAR(a[s][i], b[s][i], 1e-4) << "step " << s;
            diff_from_base = std::max(diff_from_base, double(std::abs(a[s][i] - c[s][i])));
        }
    EXPECT_GT(diff_from_base, 0.01);
    std::filesystem::remove(with_freqs);
    std::filesystem::remove(with_linear);
}

TEST(Architectures, UnsupportedTypeNamesTensorAndType) {
    const std::string src = (test::models_dir() / "stories260K" / "model-f32.gguf").string();
    const std::string dst = tmp("kinglet-iq.gguf");
    rewrite(
        src, dst, [](const std::string& k) { return k; },
        [](const gguf::TensorInfo& t, std::vector<uint8_t>& data, DType& type) {
            if (t.name != "blk.2.ffn_up.weight") return;
            type = DType::MXFP4;  // 32-element blocks of 17 bytes
            data.assign(size_t(t.ne[0] / 32) * 17 * size_t(t.ne[1]), 0);
        });
    try {
        Model::load(dst);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_EQ(e.code(), Errc::unsupported);
        EXPECT_NE(m.find("blk.2.ffn_up.weight"), std::string::npos) << m;
        EXPECT_NE(m.find("mxfp4"), std::string::npos) << m;
        EXPECT_NE(m.find(dst), std::string::npos) << m;
    }
    std::filesystem::remove(dst);
}

TEST(Architectures, UnknownArchitectureAndMissingTensorAreClear) {
    const std::string src = (test::models_dir() / "stories260K" / "model-f32.gguf").string();
    const std::string dst = tmp("kinglet-arch.gguf");
    rewrite(
        src, dst, [](const std::string& k) { return k.rfind("llama.", 0) == 0 ? "mamba." + k.substr(6) : k; },
        [](const gguf::TensorInfo&, std::vector<uint8_t>&, DType&) {});
    // general.architecture still says llama, so the llama keys are now missing.
    try {
        Model::load(dst);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("llama.embedding_length"), std::string::npos) << e.what();
    }
    rewrite(
        src, dst, [](const std::string& k) { return k.rfind("llama.", 0) == 0 ? "mamba." + k.substr(6) : k; },
        [](const gguf::TensorInfo&, std::vector<uint8_t>&, DType&) {}, "mamba");
    try {
        Model::load(dst);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::unsupported);
        EXPECT_NE(std::string(e.what()).find("architecture 'mamba' is not supported"), std::string::npos) << e.what();
    }
    std::filesystem::remove(dst);
}
