#include "server/openai_request.h"

#include <cmath>
#include <limits>

#include "server/api_error.h"
#include "tokenizer/unicode.h"

namespace kinglet::server {

using nlohmann::json;

namespace {

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::string: return "a string";
        case json::value_t::array: return "an array";
        case json::value_t::object: return "an object";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "an integer";
        case json::value_t::number_float: return "a number";
        default: return "an unsupported value";
    }
}

[[noreturn]] void wrong_type(const std::string& param, const char* expected, const json& got) {
    bad_param(param, "Invalid type for '{}': expected {}, but got {} instead.", param, expected, type_name(got));
}

// Typed, range-checked access to the fields of one JSON object; `prefix` makes the param path.
class Fields {
public:
    Fields(const json& obj, std::string prefix = {}) : obj_(obj), prefix_(std::move(prefix)) {}

    std::string path(std::string_view key) const { return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key); }

    // The value, or nullptr when absent or null.
    const json* get(std::string_view key) const {
        auto it = obj_.find(key);
        if (it == obj_.end() || it->is_null()) return nullptr;
        return &*it;
    }

    std::optional<double> number(std::string_view key, double lo, double hi) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_number()) wrong_type(path(key), "a number", *v);
        double d = v->get<double>();
        if (!std::isfinite(d) || d < lo || d > hi)
            bad_param(path(key), "Invalid '{}': expected a value between {} and {}, but got {} instead.", path(key), lo,
                      hi, v->dump());
        return d;
    }

    std::optional<int64_t> integer(std::string_view key, int64_t lo, int64_t hi) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        return as_integer(*v, path(key), lo, hi);
    }

    static int64_t as_integer(const json& v, const std::string& p, int64_t lo, int64_t hi) {
        int64_t i = 0;
        if (v.is_number_integer()) {
            if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
                bad_param(p, "Invalid '{}': {} is out of range.", p, v.dump());
            i = v.get<int64_t>();
        } else if (v.is_number_float()) {
            // 2.0 is an integer in JSON's sense; 2.5 is not.
            double d = v.get<double>();
            if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) wrong_type(p, "an integer", v);
            i = int64_t(d);
        } else {
            wrong_type(p, "an integer", v);
        }
        if (i < lo || i > hi)
            bad_param(p, "Invalid '{}': expected a value between {} and {}, but got {} instead.", p, lo, hi, i);
        return i;
    }

    std::optional<bool> boolean(std::string_view key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_boolean()) wrong_type(path(key), "a boolean", *v);
        return v->get<bool>();
    }

    std::optional<std::string> string(std::string_view key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_string()) wrong_type(path(key), "a string", *v);
        return v->get<std::string>();
    }

private:
    const json& obj_;
    std::string prefix_;
};

std::string model_field(const Fields& f) { return f.string("model").value_or(""); }

std::string content_text(const json& content, const std::string& param) {
    if (content.is_null()) return {};
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) wrong_type(param, "a string or an array of content parts", content);
    // Text parts are joined with newlines (as vLLM does); other kinds of parts need a multimodal model.
    std::string out;
    for (size_t j = 0; j < content.size(); ++j) {
        const std::string p = fmt::format("{}[{}]", param, j);
        const json& part = content[j];
        if (!part.is_object()) wrong_type(p, "an object", part);
        Fields pf(part, p);
        auto type = pf.string("type");
        if (!type) bad_param(p + ".type", "Missing required parameter: '{}.type'.", p);
        if (*type != "text")
            bad_param(p + ".type", "Content parts of type '{}' are not supported: this server handles text only.", *type);
        auto text = pf.string("text");
        if (!text) bad_param(p + ".text", "Missing required parameter: '{}.text'.", p);
        if (j) out += '\n';
        out += *text;
    }
    return out;
}

std::vector<chat::Message> parse_messages(const Fields& f) {
    const json* msgs = f.get("messages");
    if (!msgs) bad_param("messages", "Missing required parameter: 'messages'.");
    if (!msgs->is_array()) wrong_type("messages", "an array", *msgs);
    if (msgs->empty()) bad_param("messages", "Invalid 'messages': empty array. Expected an array with at least 1 message.");
    std::vector<chat::Message> out;
    out.reserve(msgs->size());
    for (size_t i = 0; i < msgs->size(); ++i) {
        const std::string p = fmt::format("messages[{}]", i);
        const json& m = (*msgs)[i];
        if (!m.is_object()) wrong_type(p, "an object", m);
        Fields mf(m, p);
        auto role = mf.string("role");
        if (!role) bad_param(p + ".role", "Missing required parameter: '{}.role'.", p);
        chat::Message msg;
        if (*role == "developer") *role = "system";  // OpenAI's newer name for the system role
        if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool")
            bad_param(p + ".role", "Invalid value for '{}.role': '{}'. Supported values are: 'system', 'developer', 'user', "
                      "'assistant' and 'tool'.", p, *role);
        msg.role = *role;
        auto it = m.find("content");
        if (it == m.end() && *role != "assistant")
            bad_param(p + ".content", "Missing required parameter: '{}.content'.", p);
        if (it != m.end()) msg.content = content_text(*it, p + ".content");
        // Fields templates may read: a speaker name, tool calls and their ids.
        for (const char* key : {"name", "tool_calls", "tool_call_id"})
            if (const json* v = mf.get(key)) msg.extra[key] = *v;
        out.push_back(std::move(msg));
    }
    return out;
}

SamplingFields parse_sampling(const Fields& f, const RequestLimits& limits, bool chat) {
    SamplingFields s;
    const int64_t min_tokens = chat ? 1 : 0;
    if (auto v = f.integer("max_tokens", min_tokens, std::numeric_limits<int32_t>::max())) s.max_tokens = int(*v);
    if (auto v = f.integer("max_completion_tokens", min_tokens, std::numeric_limits<int32_t>::max()))
        s.max_tokens = int(*v);
    if (auto v = f.number("temperature", 0, 2)) s.temperature = float(*v);
    if (auto v = f.number("top_p", 0, 1)) s.top_p = float(*v);
    if (auto v = f.integer("top_k", -1, std::numeric_limits<int32_t>::max())) s.top_k = int(std::max<int64_t>(0, *v));
    if (auto v = f.number("min_p", 0, 1)) s.min_p = float(*v);
    if (auto v = f.number("presence_penalty", -2, 2)) s.presence_penalty = float(*v);
    if (auto v = f.number("frequency_penalty", -2, 2)) s.frequency_penalty = float(*v);
    if (auto v = f.integer("seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
        s.seed = uint64_t(*v);
    if (const json* lb = f.get("logit_bias")) {
        if (!lb->is_object()) wrong_type("logit_bias", "an object", *lb);
        for (auto it = lb->begin(); it != lb->end(); ++it) {
            const std::string& key = it.key();
            int64_t id = -1;
            size_t used = 0;
            try {
                id = std::stoll(key, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != key.size() || id < 0 || id > std::numeric_limits<int32_t>::max())
                bad_param("logit_bias", "Invalid 'logit_bias': key '{}' is not a token id.", key);
            const std::string p = "logit_bias." + key;
            if (!it->is_number()) wrong_type(p, "a number", *it);
            double b = it->get<double>();
            if (!std::isfinite(b) || b < -100 || b > 100)
                bad_param(p, "Invalid '{}': expected a value between -100 and 100, but got {} instead.", p, it->dump());
            s.logit_bias[int32_t(id)] = float(b);
        }
    }
    if (const json* stop = f.get("stop")) {
        if (stop->is_string()) {
            s.stop.push_back(stop->get<std::string>());
        } else if (stop->is_array()) {
            if (int(stop->size()) > limits.max_stop)
                bad_param("stop", "Invalid 'stop': at most {} stop sequences are allowed, got {}.", limits.max_stop,
                          stop->size());
            for (size_t i = 0; i < stop->size(); ++i) {
                if (!(*stop)[i].is_string()) wrong_type(fmt::format("stop[{}]", i), "a string", (*stop)[i]);
                s.stop.push_back((*stop)[i].get<std::string>());
            }
        } else {
            wrong_type("stop", "a string or an array of strings", *stop);
        }
        std::erase_if(s.stop, [](const std::string& x) { return x.empty(); });
    }
    if (auto v = f.integer("n", 1, limits.max_n)) s.n = int(*v);
    s.stream = f.boolean("stream").value_or(false);
    if (const json* so = f.get("stream_options")) {
        if (!so->is_object()) wrong_type("stream_options", "an object", *so);
        if (!s.stream)
            bad_param("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
        s.include_usage = Fields(*so, "stream_options").boolean("include_usage").value_or(false);
    }
    // Features that would change the answer if silently ignored.
    if (auto bo = f.integer("best_of", 1, limits.max_n); bo && *bo > 1)
        bad_param("best_of", "'best_of' greater than 1 is not supported.");
    if (const json* rf = f.get("response_format")) {
        if (!rf->is_object()) wrong_type("response_format", "an object", *rf);
        auto type = Fields(*rf, "response_format").string("type").value_or("text");
        if (type == "json_object") {
            s.json_object = true;
        } else if (type == "json_schema") {
            const json* js = rf->contains("json_schema") ? &(*rf)["json_schema"] : nullptr;
            if (!js) bad_param("response_format.json_schema", "Missing required parameter: 'response_format.json_schema'.");
            if (!js->is_object()) wrong_type("response_format.json_schema", "an object", *js);
            const json* schema = js->contains("schema") ? &(*js)["schema"] : nullptr;
            try {
                s.json_schema = std::make_shared<const CompiledSchema>(compile_json_schema(schema ? *schema : json::object()));
            } catch (const Error& e) {
                bad_param("response_format.json_schema.schema", "Invalid 'response_format.json_schema.schema': {}.",
                          e.what());
            }
            s.json_object = true;
        } else if (type != "text") {
            bad_param("response_format.type",
                      "Invalid 'response_format.type': '{}' (expected 'text', 'json_object' or 'json_schema').", type);
        }
        if (s.json_object) s.response_format = rf->dump();
    }
    if (const json* tools = f.get("tools")) {
        if (!tools->is_array()) wrong_type("tools", "an array", *tools);
        const json* choice = f.get("tool_choice");
        const bool none = choice && choice->is_string() && *choice == "none";
        if (!tools->empty() && !none) bad_param("tools", "Tool calling is not supported by this server.");
    }
    return s;
}

std::vector<int32_t> token_array(const json& a, const std::string& param) {
    std::vector<int32_t> ids;
    ids.reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i)
        ids.push_back(int32_t(Fields::as_integer(a[i], fmt::format("{}[{}]", param, i), 0,
                                                 std::numeric_limits<int32_t>::max())));
    return ids;
}

// string | [string] | [int] | [[int]]
std::vector<PromptInput> parse_inputs(const json& v, const std::string& param, int max_inputs) {
    std::vector<PromptInput> out;
    auto text = [](std::string s) {
        PromptInput p;
        p.text = std::move(s);
        return p;
    };
    auto tokens = [](std::vector<int32_t> t) {
        PromptInput p;
        p.tokens = std::move(t);
        p.is_tokens = true;
        return p;
    };
    if (v.is_string()) {
        out.push_back(text(v.get<std::string>()));
        return out;
    }
    const char* expected = "a string, an array of strings, an array of token ids or an array of token-id arrays";
    if (!v.is_array()) wrong_type(param, expected, v);
    if (v.empty()) bad_param(param, "Invalid '{}': empty array.", param);
    if (v[0].is_number()) {
        out.push_back(tokens(token_array(v, param)));
        return out;
    }
    if (int(v.size()) > max_inputs)
        bad_param(param, "Invalid '{}': at most {} inputs are allowed in one request, got {}.", param, max_inputs, v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const std::string p = fmt::format("{}[{}]", param, i);
        if (v[i].is_string()) out.push_back(text(v[i].get<std::string>()));
        else if (v[i].is_array()) {
            if (v[i].empty()) bad_param(p, "Invalid '{}': empty array.", p);
            out.push_back(tokens(token_array(v[i], p)));
        } else {
            wrong_type(p, "a string or an array of token ids", v[i]);
        }
    }
    return out;
}

void require_object(const json& body) {
    if (!body.is_object()) throw ApiError(400, fmt::format("The request body must be a JSON object, not {}.", type_name(body)));
}

}  // namespace

json parse_json_body(std::string_view body) {
    if (body.empty()) throw ApiError(400, "The request body is empty: expected a JSON object.");
    json j;
    try {
        j = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
        // nlohmann's messages say where, and that a string held invalid UTF-8.
        // (Its message quotes the offending bytes, which may themselves be invalid UTF-8.)
        throw ApiError(400, fmt::format("The request body is not valid JSON: {}", unicode::sanitize_utf8(e.what())), {},
                       "invalid_json");
    }
    require_object(j);
    // Parsing is iterative, but copying or printing a value recurses: refuse absurd nesting up front.
    constexpr size_t kMaxDepth = 64;
    std::vector<std::pair<const json*, size_t>> stack{{&j, 1}};
    while (!stack.empty()) {
        auto [v, depth] = stack.back();
        stack.pop_back();
        if (depth > kMaxDepth)
            throw ApiError(400, fmt::format("The request body nests deeper than {} levels.", kMaxDepth), {}, "invalid_json");
        if (v->is_structured())
            for (const auto& child : *v) stack.push_back({&child, depth + 1});
    }
    return j;
}

ChatCompletionRequest parse_chat_request(const json& body, const RequestLimits& limits) {
    require_object(body);
    Fields f(body);
    ChatCompletionRequest r;
    r.model = model_field(f);
    r.messages = parse_messages(f);
    r.sampling = parse_sampling(f, limits, /*chat=*/true);
    r.logprobs = f.boolean("logprobs").value_or(false);
    if (auto v = f.integer("top_logprobs", 0, limits.max_top_logprobs)) {
        if (!r.logprobs) bad_param("top_logprobs", "'top_logprobs' requires 'logprobs' to be true.");
        r.top_logprobs = int(*v);
    }
    return r;
}

CompletionRequest parse_completion_request(const json& body, const RequestLimits& limits) {
    require_object(body);
    Fields f(body);
    CompletionRequest r;
    r.model = model_field(f);
    const json* prompt = f.get("prompt");
    if (!prompt) bad_param("prompt", "Missing required parameter: 'prompt'.");
    r.prompts = parse_inputs(*prompt, "prompt", limits.max_prompts);
    r.sampling = parse_sampling(f, limits, /*chat=*/false);
    if (auto v = f.integer("logprobs", 0, limits.max_top_logprobs)) r.logprobs = int(*v);
    r.echo = f.boolean("echo").value_or(false);
    if (r.echo && r.logprobs >= 0)
        bad_param("echo", "'echo' together with 'logprobs' (prompt log-probabilities) is not supported.");
    if (auto suffix = f.string("suffix"); suffix && !suffix->empty())
        bad_param("suffix", "'suffix' (fill-in-the-middle) is not supported.");
    return r;
}

EmbeddingRequest parse_embedding_request(const json& body, const RequestLimits& limits) {
    require_object(body);
    Fields f(body);
    EmbeddingRequest r;
    r.model = model_field(f);
    const json* input = f.get("input");
    if (!input) bad_param("input", "Missing required parameter: 'input'.");
    r.inputs = parse_inputs(*input, "input", limits.max_embedding_inputs);
    auto fmt_name = f.string("encoding_format").value_or("float");
    if (fmt_name != "float" && fmt_name != "base64")
        bad_param("encoding_format", "Invalid 'encoding_format': '{}'. Supported values are: 'float' and 'base64'.", fmt_name);
    r.base64 = fmt_name == "base64";
    if (auto d = f.integer("dimensions", 1, std::numeric_limits<int32_t>::max())) r.dimensions = int(*d);
    return r;
}

TokenizeRequest parse_tokenize_request(const json& body) {
    require_object(body);
    Fields f(body);
    TokenizeRequest r;
    r.model = model_field(f);
    if (f.get("messages")) {
        r.chat = true;
        r.messages = parse_messages(f);
    } else if (auto p = f.string("prompt")) {
        r.prompt = *p;
    } else if (auto c = f.string("content")) {  // llama-server's name for it
        r.prompt = *c;
    } else {
        bad_param("prompt", "Missing required parameter: 'prompt' (or 'messages').");
    }
    if (auto v = f.boolean("add_special_tokens")) r.add_special = *v;
    else if (auto v2 = f.boolean("add_special")) r.add_special = *v2;
    r.with_pieces = f.boolean("with_pieces").value_or(false);
    return r;
}

DetokenizeRequest parse_detokenize_request(const json& body) {
    require_object(body);
    Fields f(body);
    DetokenizeRequest r;
    r.model = model_field(f);
    const json* t = f.get("tokens");
    if (!t) bad_param("tokens", "Missing required parameter: 'tokens'.");
    if (!t->is_array()) wrong_type("tokens", "an array of token ids", *t);
    r.tokens = token_array(*t, "tokens");
    return r;
}

namespace {

void copy_sampling(const SamplingFields& s, int index, router::GenerationRequest& g) {
    g.max_tokens = s.max_tokens;
    g.temperature = s.temperature;
    g.top_p = s.top_p;
    g.top_k = s.top_k;
    g.min_p = s.min_p;
    g.presence_penalty = s.presence_penalty;
    g.frequency_penalty = s.frequency_penalty;
    if (s.seed) g.seed = *s.seed + uint64_t(index);
    g.logit_bias = s.logit_bias;
    g.stop = s.stop;
    g.json_object = s.json_object;
    g.json_schema = s.json_schema;
    g.response_format = s.response_format;
}

}  // namespace

router::GenerationRequest to_generation(const ChatCompletionRequest& r, int index) {
    router::GenerationRequest g;
    g.kind = router::GenerationRequest::Kind::chat;
    g.messages = r.messages;
    copy_sampling(r.sampling, index, g);
    g.logprobs = r.logprobs ? r.top_logprobs : -1;
    return g;
}

router::GenerationRequest to_generation(const CompletionRequest& r, size_t prompt, int index) {
    router::GenerationRequest g;
    g.kind = router::GenerationRequest::Kind::text;
    const PromptInput& p = r.prompts.at(prompt);
    if (p.is_tokens) g.prompt_tokens = p.tokens;
    else g.prompt = p.text;
    copy_sampling(r.sampling, index, g);
    g.default_max_tokens = 16;  // OpenAI's default for completions
    g.logprobs = r.logprobs;
    return g;
}

router::GenerationRequest to_embedding(const EmbeddingRequest& r, size_t input) {
    router::GenerationRequest g;
    g.kind = router::GenerationRequest::Kind::embedding;
    const PromptInput& p = r.inputs.at(input);
    if (p.is_tokens) g.prompt_tokens = p.tokens;
    else g.prompt = p.text;
    return g;
}

}  // namespace kinglet::server
