#include "cli/eval_targets.h"

#include <cstdlib>
#include <map>

#include "core/error.h"
#include "router/remote_provider.h"

namespace kinglet::cli {

std::unique_ptr<eval::Target> make_target(const eval::TargetSpec& spec, const TargetContext& ctx) {
    using K = eval::TargetSpec::Kind;
    switch (spec.kind) {
        case K::local: {
            ModelArgs m = ctx.model;
            m.path = spec.path;
            auto model = m.load(ctx.quiet);
            const int seqs = ctx.task.labels.empty() ? 1 : int(ctx.task.labels.size()) + 1;
            return eval::make_local_target(spec, model, m.engine_options(seqs), ctx.task);
        }
        case K::server: {
            // A running kinglet serve (or any OpenAI-compatible server) through the router's remote
            // provider: the same HTTP client a route uses. Its key, if it needs one, comes from
            // KINGLET_API_KEY.
            router::RemoteOptions ro;
            ro.name = spec.name;
            ro.base_url = spec.path;
            while (!ro.base_url.empty() && ro.base_url.back() == '/') ro.base_url.pop_back();
            if (ro.base_url.size() < 3 || ro.base_url.compare(ro.base_url.size() - 3, 3, "/v1") != 0) ro.base_url += "/v1";
            ro.model = spec.model;
            if (const char* key = std::getenv("KINGLET_API_KEY")) ro.api_key = key;
            ro.timeout_s = 600;
            return eval::make_provider_target(spec, std::make_shared<router::RemoteProvider>(ro), ctx.task);
        }
        case K::remote:
        case K::route:
        case K::model:
            if (!ctx.config)
                fail(Errc::invalid_argument, "target '{}': {} targets are declared in a config file; give --config FILE",
                     spec.text, eval::kind_name(spec.kind));
            return eval::make_provider_target(spec, ctx.config->provider(spec), ctx.task);
    }
    fail(Errc::internal, "target '{}': unknown kind", spec.text);
}

void unique_names(std::vector<eval::TargetSpec>& specs) {
    std::map<std::string, int> seen;
    for (auto& s : specs) {
        const int n = ++seen[s.name];
        if (n > 1) s.name += "#" + std::to_string(n);
    }
}

}  // namespace kinglet::cli
