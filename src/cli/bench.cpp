// kinglet bench: prefill and decode speed of a model, measured as llama-bench measures pp/tg: a batch
// of random token ids in a fresh context, then single-token steps; medians of repeats after a warm-up.
// With --batch B, B sequences are prefilled and every decode step carries one token of each (the shape
// of `kinglet serve` with B concurrent streams); decode tokens/s is then the aggregate over the B.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
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
    int batch = 1;
    bool json = false;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// CPU seconds (user + system) this process has used: under a shared machine's load, wall-clock rates
// move with the neighbours; CPU time per token moves much less, so it shows what a change saved.
double cpu_seconds() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double peak_rss_mb() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

int bench(const BenchOptions& o) {
    if (o.n_prompt < 1 || o.n_gen < 0 || o.repeats < 1 || o.batch < 1 || o.batch > 256)
        fail(Errc::invalid_argument, "-p must be at least 1, -n at least 0, -r at least 1 and --batch 1..256");
    auto model = o.model.load(o.json);
    const HParams& hp = model->hparams();
    const int n_ctx = o.n_prompt + o.n_gen;
    const int block = 32, n_blocks = (n_ctx + block - 1) / block;
    const int threads = o.model.threads > 0 ? o.model.threads : default_thread_count();
    const int n_seq = o.batch;
    KvCache kv(hp, o.model.kv_dtype(), n_blocks * n_seq, block);
    ThreadPool pool(threads);
    Forward fwd(*model, kv, pool, std::max(o.n_prompt, n_seq), n_ctx);
    std::vector<int32_t> table(size_t(n_blocks) * n_seq);  // sequence s owns blocks [s*n_blocks, (s+1)*n_blocks)
    std::iota(table.begin(), table.end(), 0);
    auto seq_of = [&](int s) { return BatchSeq{table.data() + size_t(s) * n_blocks, int32_t(n_blocks)}; };
    std::vector<float> logits(size_t(hp.n_vocab) * n_seq);
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> tok(0, hp.n_vocab - 1);

    std::vector<double> pp, tg, pp_cpu, tg_cpu;
    for (int rep = 0; rep <= o.repeats; ++rep) {  // repeat 0 is the warm-up
        Batch b;
        double c0 = 0, c1 = 0;
        std::chrono::steady_clock::time_point t0, t1;
        for (int s = 0; s < n_seq; ++s) {  // only the first sequence's prefill is timed
            b.clear();
            b.seqs.push_back(seq_of(s));
            for (int i = 0; i < o.n_prompt; ++i) b.add(tok(rng), i, 0, i + 1 == o.n_prompt);
            if (s == 0) c0 = cpu_seconds(), t0 = std::chrono::steady_clock::now();
            fwd.run(b, logits.data());
            if (s == 0) t1 = std::chrono::steady_clock::now(), c1 = cpu_seconds();
        }
        const auto td = std::chrono::steady_clock::now();  // decode starts after every prefill
        const double cd = cpu_seconds();
        for (int i = 0; i < o.n_gen; ++i) {
            b.clear();
            for (int s = 0; s < n_seq; ++s) {
                b.seqs.push_back(seq_of(s));
                b.add(tok(rng), o.n_prompt + i, s, true);
            }
            fwd.run(b, logits.data());
        }
        auto t2 = std::chrono::steady_clock::now();
        const double c2 = cpu_seconds();
        if (rep == 0) continue;
        pp.push_back(o.n_prompt / std::chrono::duration<double>(t1 - t0).count());
        pp_cpu.push_back(1e3 * (c1 - c0) / o.n_prompt);
        if (o.n_gen > 0) {
            tg.push_back(double(o.n_gen) * n_seq / std::chrono::duration<double>(t2 - td).count());
            tg_cpu.push_back(1e3 * (c2 - cd) / (double(o.n_gen) * n_seq));
        }
    }
    const double prefill = median(pp), decode = median(tg), rss = peak_rss_mb();
    const double prefill_cpu = median(pp_cpu), decode_cpu = median(tg_cpu);
    const double load1 = [] {
        double l[1] = {0};
        return getloadavg(l, 1) == 1 ? l[0] : -1.0;
    }();
    const double weights_mb = double(model->weights().matrix_bytes()) / (1 << 20);
    if (o.json) {
        nlohmann::json j = {{"prefill_tps", prefill},
                            {"decode_tps", decode},
                            {"prefill_cpu_ms_per_token", prefill_cpu},
                            {"decode_cpu_ms_per_token", decode_cpu},
                            {"rss_mb", rss},
                            {"weights_mb", weights_mb},
                            {"kv_mb", double(kv.bytes()) / (1 << 20)},
                            {"model", o.model.path},
                            {"arch", hp.arch},
                            {"n_prompt", o.n_prompt},
                            {"n_gen", o.n_gen},
                            {"repeats", o.repeats},
                            {"batch", n_seq},
                            {"threads", threads},
                            {"kernels", kernel_family()},
                            {"cpu", cpu_features().brand},
                            {"load_avg_1m", load1}};
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("model     %s (%s)\n", o.model.path.c_str(), hp.arch.c_str());
        std::printf("threads   %d, kernels %s, KV %s\n", threads, kernel_family(), o.model.kv_type.c_str());
        std::printf("prefill   %.1f tokens/s, %.2f CPU ms/token  (%d-token batch, median of %d)\n", prefill, prefill_cpu,
                    o.n_prompt, o.repeats);
        if (n_seq == 1)
            std::printf("decode    %.1f tokens/s, %.2f CPU ms/token  (%d steps, median of %d)\n", decode, decode_cpu,
                        o.n_gen, o.repeats);
        else
            std::printf("decode    %.1f tokens/s, %.2f CPU ms/token  (%d sequences x %d steps, aggregate, median of %d)\n",
                        decode, decode_cpu, n_seq, o.n_gen, o.repeats);
        std::printf("load      %.2f (1-minute load average at the end; CPU time per token moves less with it)\n", load1);
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
        sub.add_option("-b,--batch", o->batch,
                       "Sequences decoded together (each step has one token of each; decode tokens/s is their sum)")
            ->capture_default_str();
        sub.add_flag("--json", o->json, "Print {\"prefill_tps\",\"decode_tps\",\"rss_mb\",...}");
        return [o] { return bench(*o); };
    }}};

}  // namespace
}  // namespace kinglet::cli
