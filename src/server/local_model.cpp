#include "server/local_model.h"

#include <fstream>
#include <sstream>

#include "chat/template.h"
#include "core/error.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "router/local_provider.h"

namespace kinglet::server {

std::shared_ptr<router::Provider> load_local_model(const ModelConfig& mc) {
    std::shared_ptr<const Model> model = Model::load(mc.path);
    router::LocalModelOptions lo;
    lo.engine.n_ctx = mc.ctx;
    lo.engine.max_seqs = mc.parallel;
    lo.engine.n_threads = mc.threads;
    lo.engine.max_batch_tokens = mc.batch_tokens;
    lo.engine.max_queue = size_t(mc.max_queue);
    lo.engine.prefix_cache = mc.prefix_cache;
    lo.engine.kv_type = kv_type_from_name(mc.kv_type).value_or(DType::F16);  // validated by the config reader
    if (!mc.chat_template.empty()) {
        if (auto builtin = chat::builtin_template(mc.chat_template)) {
            lo.chat_template = *builtin;
        } else {
            std::ifstream in(mc.chat_template, std::ios::binary);
            if (!in)
                fail(Errc::not_found, "{}: model '{}': cannot open chat template {}", mc.origin, mc.name,
                     mc.chat_template);
            std::stringstream ss;
            ss << in.rdbuf();
            lo.chat_template = ss.str();
        }
        lo.chat_template_label = mc.chat_template;
    }
    try {
        return std::make_shared<router::LocalProvider>(std::move(model), std::move(lo));
    } catch (const Error& e) {  // e.g. a kv_type the model cannot use: say which config entry
        fail(e.code(), "{}: model '{}': {}", mc.origin, mc.name, e.what());
    }
}

}  // namespace kinglet::server
