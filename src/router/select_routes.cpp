// The tier and domain policies (router/route.h): pick one target from the request, then hand the
// request over unchanged (the target's trace is the route's).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/ranges.h>

#include <cmath>
#include <future>
#include <mutex>

#include "core/error.h"
#include "router/route.h"

namespace kinglet::router {

namespace {

class TierRoute final : public Provider {
public:
    TierRoute(std::string name, std::vector<std::pair<std::string, TargetNames>> tiers, std::vector<std::string> labels,
              Resolver resolve)
        : name_(std::move(name)), tiers_(std::move(tiers)), labels_(std::move(labels)), resolve_(std::move(resolve)) {}
    ProviderInfo info() const override { return route_info(); }
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override {
        const std::string tier = req.tier.empty() ? "default" : req.tier;
        const TargetNames* t = nullptr;
        for (const auto& [k, v] : tiers_)
            if (k == tier) t = &v;
        if (!t)
            for (const auto& [k, v] : tiers_)
                if (k == "default") t = &v;
        if (!t) fail(Errc::invalid_argument, "route '{}' serves no target for tier '{}' (and has no default tier)", name_, tier);
        if (!labels_.empty()) req.labels = labels_;
        return resolve_target(*t, resolve_, name_)->start(std::move(req), std::move(cb));
    }

private:
    std::string name_;
    std::vector<std::pair<std::string, TargetNames>> tiers_;
    std::vector<std::string> labels_;
    Resolver resolve_;
};

// A case-insensitive, Unicode-aware PCRE2 pattern; match() is thread-safe.
class Pattern {
public:
    Pattern(const std::string& re, const std::string& what) {
        int err = 0;
        PCRE2_SIZE off = 0;
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(), PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP,
                              &err, &off, nullptr);
        if (!code_) {
            PCRE2_UCHAR buf[256];
            pcre2_get_error_message(err, buf, sizeof buf);
            fail(Errc::invalid_argument, "{}: the regular expression does not compile at offset {}: {}", what, size_t(off),
                 reinterpret_cast<const char*>(buf));
        }
    }
    ~Pattern() { pcre2_code_free(code_); }
    Pattern(const Pattern&) = delete;
    Pattern& operator=(const Pattern&) = delete;
    bool match(const std::string& text) const {
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
        // PCRE2_NO_UTF_CHECK is not passed: invalid UTF-8 in a request simply does not match.
        const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, md, nullptr);
        pcre2_match_data_free(md);
        return rc >= 0;
    }

private:
    pcre2_code* code_ = nullptr;
};

std::string escape_regex(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

class DomainRoute final : public Provider {
public:
    DomainRoute(std::string name, std::vector<DomainRule> domains, TargetNames def, std::string embedding_model,
                double min_similarity, std::vector<std::string> labels, Resolver resolve)
        : name_(std::move(name)), domains_(std::move(domains)), default_(std::move(def)),
          embedding_model_(std::move(embedding_model)), min_similarity_(min_similarity), labels_(std::move(labels)),
          resolve_(std::move(resolve)) {
        for (const auto& d : domains_) {
            std::vector<std::unique_ptr<Pattern>> ps;
            if (!d.keywords.empty()) {
                std::vector<std::string> words;
                for (const auto& k : d.keywords) words.push_back(escape_regex(k));
                ps.push_back(std::make_unique<Pattern>(fmt::format("\\b(?:{})\\b", fmt::join(words, "|")),
                                                       fmt::format("route '{}', domain '{}': keywords", name_, d.name)));
            }
            for (const auto& p : d.patterns)
                ps.push_back(std::make_unique<Pattern>(p, fmt::format("route '{}', domain '{}': pattern '{}'", name_, d.name, p)));
            patterns_.push_back(std::move(ps));
            if (!d.examples.empty()) semantic_ = true;
        }
    }
    ProviderInfo info() const override { return route_info(); }

    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override {
        const TargetNames& t = choose(request_text(req));
        if (!labels_.empty()) req.labels = labels_;
        return resolve_target(t, resolve_, name_)->start(std::move(req), std::move(cb));
    }

    // The domain a text is routed to (by name), "" for the default. Public for tests via choose().
    const TargetNames& choose(const std::string& text) {
        for (size_t i = 0; i < domains_.size(); ++i)
            for (const auto& p : patterns_[i])
                if (p->match(text)) return domains_[i].target;
        if (!semantic_) return default_;
        ensure_centroids();
        const std::vector<float> e = embed(text);
        double best = -2;
        int best_i = -1;
        for (size_t i = 0; i < centroids_.size(); ++i) {
            if (centroids_[i].empty()) continue;
            double dot = 0;
            for (size_t k = 0; k < e.size() && k < centroids_[i].size(); ++k) dot += double(e[k]) * centroids_[i][k];
            if (dot > best) {
                best = dot;
                best_i = int(i);
            }
        }
        if (best_i >= 0 && best >= min_similarity_) return domains_[size_t(best_i)].target;
        return default_;
    }

private:
    // L2-normalised embedding of `text` by the embedding model (blocks this HTTP thread).
    std::vector<float> embed(const std::string& text) {
        auto p = resolve_(embedding_model_);
        if (!p) fail(Errc::overloaded, "route '{}': embedding model '{}' is not loaded yet", name_, embedding_model_);
        GenerationRequest q;
        q.kind = GenerationRequest::Kind::embedding;
        q.prompt = text.empty() ? std::string(" ") : text;
        std::promise<GenerationResult> done;
        auto fut = done.get_future();
        GenerationCallbacks cb;
        cb.on_done = [&done](GenerationResult&& r) { done.set_value(std::move(r)); };
        auto g = p->start(std::move(q), std::move(cb));
        GenerationResult r = fut.get();
        if (r.finish != Finish::stop && r.finish != Finish::length)
            fail(Errc::internal, "route '{}': embedding with '{}' failed: {}", name_, embedding_model_, r.error);
        double n = 0;
        for (float v : r.embedding) n += double(v) * v;
        n = std::sqrt(n);
        if (n > 0)
            for (float& v : r.embedding) v = float(v / n);
        return std::move(r.embedding);
    }

    void ensure_centroids() {
        std::lock_guard<std::mutex> lock(centroid_mu_);
        if (!centroids_.empty()) return;
        std::vector<std::vector<float>> cs(domains_.size());
        for (size_t i = 0; i < domains_.size(); ++i) {
            for (const auto& ex : domains_[i].examples) {
                auto e = embed(ex);
                if (cs[i].empty()) cs[i].assign(e.size(), 0.0f);
                for (size_t k = 0; k < e.size() && k < cs[i].size(); ++k) cs[i][k] += e[k];
            }
            double n = 0;
            for (float v : cs[i]) n += double(v) * v;
            n = std::sqrt(n);
            if (n > 0)
                for (float& v : cs[i]) v = float(v / n);
        }
        centroids_ = std::move(cs);
    }

    std::string name_;
    std::vector<DomainRule> domains_;
    std::vector<std::vector<std::unique_ptr<Pattern>>> patterns_;
    TargetNames default_;
    std::string embedding_model_;
    double min_similarity_;
    std::vector<std::string> labels_;
    Resolver resolve_;
    bool semantic_ = false;
    std::mutex centroid_mu_;
    std::vector<std::vector<float>> centroids_;  // per domain; empty for a domain without examples
};

}  // namespace

std::shared_ptr<Provider> make_tier(std::string name, std::vector<std::pair<std::string, TargetNames>> tiers,
                                    std::vector<std::string> labels, Resolver resolve) {
    return std::make_shared<TierRoute>(std::move(name), std::move(tiers), std::move(labels), std::move(resolve));
}

std::shared_ptr<Provider> make_domain(std::string name, std::vector<DomainRule> domains, TargetNames default_target,
                                      std::string embedding_model, double min_similarity,
                                      std::vector<std::string> labels, Resolver resolve) {
    return std::make_shared<DomainRoute>(std::move(name), std::move(domains), std::move(default_target),
                                         std::move(embedding_model), min_similarity, std::move(labels), std::move(resolve));
}

}  // namespace kinglet::router
