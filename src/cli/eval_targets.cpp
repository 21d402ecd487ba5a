#include "cli/eval_targets.h"

#include <map>

#include "core/error.h"

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
        case K::server:
        case K::remote:
        case K::route:
            break;
    }
    fail(Errc::unsupported, "target '{}': {} targets need the remote provider, which this build does not have yet",
         spec.text, eval::kind_name(spec.kind));
}

void unique_names(std::vector<eval::TargetSpec>& specs) {
    std::map<std::string, int> seen;
    for (auto& s : specs) {
        const int n = ++seen[s.name];
        if (n > 1) s.name += "#" + std::to_string(n);
    }
}

}  // namespace kinglet::cli
