// kinglet bench: prefill and decode speed of a model, measured as llama-bench measures pp/tg: a batch
// of random token ids in a fresh context, then single-token steps; medians of repeats after a warm-up.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "cli/command.h"
#include "cli/model_args.h"
#include "core/cpu.h"
#include "core/error.h"
#include "model/forward.h"
#include "tensor/ops.h"

namespace kinglet::cli {
namespace {

struct BenchOptions {
    ModelArgs model;
    int n_prompt = 128;
    int n_gen = 64;
    int repeats = 3;
    bool json = false;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double peak_rss_mb() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

int bench(const BenchOptions& o) {
    if (o.n_prompt < 1 || o.n_gen < 0 || o.repeats < 1)
        fail(Errc::invalid_argument, "-p must be at least 1, -n at least 0 and -r at least 1");
    auto model = o.model.load(o.json);
    const HParams& hp = model->hparams();
    const int n_ctx = o.n_prompt + o.n_gen;
    const int block = 32, n_blocks = (n_ctx + block - 1) / block;
    const int threads = o.model.threads > 0 ? o.model.threads : default_thread_count();
    KvCache kv(hp, o.model.kv_dtype(), n_blocks, block);
    ThreadPool pool(threads);
    Forward fwd(*model, kv, pool, o.n_prompt);
    std::vector<int32_t> table(n_blocks);
    std::iota(table.begin(), table.end(), 0);
    std::vector<float> logits(hp.n_vocab);
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> tok(0, hp.n_vocab - 1);

    std::vector<double> pp, tg;
    for (int rep = 0; rep <= o.repeats; ++rep) {  // repeat 0 is the warm-up
        Batch b;
        b.seqs.push_back({table.data(), int32_t(table.size())});
        for (int i = 0; i < o.n_prompt; ++i) b.add(tok(rng), i, 0, i + 1 == o.n_prompt);
        auto t0 = std::chrono::steady_clock::now();
        fwd.run(b, logits.data());
        auto t1 = std::chrono::steady_clock::now();
        for (int i = 0; i < o.n_gen; ++i) {
            b.clear();
            b.seqs.push_back({table.data(), int32_t(table.size())});
            b.add(tok(rng), o.n_prompt + i, 0, true);
            fwd.run(b, logits.data());
        }
        auto t2 = std::chrono::steady_clock::now();
        if (rep == 0) continue;
        pp.push_back(o.n_prompt / std::chrono::duration<double>(t1 - t0).count());
        if (o.n_gen > 0) tg.push_back(o.n_gen / std::chrono::duration<double>(t2 - t1).count());
    }
    const double prefill = median(pp), decode = median(tg), rss = peak_rss_mb();
    const double weights_mb = double(model->weights().matrix_bytes()) / (1 << 20);
    if (o.json) {
        nlohmann::json j = {{"prefill_tps", prefill},
                            {"decode_tps", decode},
                            {"rss_mb", rss},
                            {"weights_mb", weights_mb},
                            {"kv_mb", double(kv.bytes()) / (1 << 20)},
                            {"model", o.model.path},
                            {"arch", hp.arch},
                            {"n_prompt", o.n_prompt},
                            {"n_gen", o.n_gen},
                            {"repeats", o.repeats},
                            {"threads", threads},
                            {"kernels", kernel_family()},
                            {"cpu", cpu_features().brand}};
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("model     %s (%s)\n", o.model.path.c_str(), hp.arch.c_str());
        std::printf("threads   %d, kernels %s, KV %s\n", threads, kernel_family(), o.model.kv_type.c_str());
        std::printf("prefill   %.1f tokens/s  (%d-token batch, median of %d)\n", prefill, o.n_prompt, o.repeats);
        std::printf("decode    %.1f tokens/s  (%d steps, median of %d)\n", decode, o.n_gen, o.repeats);
        std::printf("memory    %.0f MiB peak RSS (weights read per token %.0f MiB, KV %.1f MiB)\n", rss, weights_mb,
                    double(kv.bytes()) / (1 << 20));
    }
    return 0;
}

const Registrar registrar{Command{
    "bench",
    "Measure prefill and decode tokens/s and peak memory of a model (--json for one JSON object)",
    [](CLI::App& sub) {
        auto o = std::make_shared<BenchOptions>();
        o->model.add(sub, false);
        sub.add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens per prefill batch")->capture_default_str();
        sub.add_option("-n,--n-gen", o->n_gen, "Decode steps")->capture_default_str();
        sub.add_option("-r,--repeats", o->repeats, "Measured repeats (after one warm-up)")->capture_default_str();
        sub.add_flag("--json", o->json, "Print {\"prefill_tps\",\"decode_tps\",\"rss_mb\",...}");
        return [o] { return bench(*o); };
    }}};

}  // namespace
}  // namespace kinglet::cli
