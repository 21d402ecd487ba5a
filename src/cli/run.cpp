// kinglet run: generate from a prompt (streamed, or one JSON object with --json), or chat
// interactively with the model's chat template when no prompt is given.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "chat/template.h"
#include "cli/command.h"
#include "cli/model_args.h"
#include "core/error.h"
#include "sampling/json_constraint.h"

namespace kinglet::cli {
namespace {

struct RunOptions {
    ModelArgs model;
    std::string prompt;
    bool has_prompt = false;
    int n_predict = 128;
    float temp = 0.8f;
    int top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    int64_t seed = -1;
    bool json = false;
    int top_logits = 0;
    bool special = false;
    bool no_bos = false;
    bool ignore_eos = false;
    bool chat = false;
    bool json_object = false;
    std::string system;
};

SamplingParams sampling(const RunOptions& o, uint64_t seed) {
    SamplingParams p;
    p.temperature = o.temp;
    p.top_k = o.top_k;
    p.top_p = o.top_p;
    p.min_p = o.min_p;
    p.repeat_penalty = o.repeat_penalty;
    p.seed = seed;
    return p;
}

std::string render_chat(const Model& m, const std::vector<chat::Message>& msgs) {
    std::string src = m.chat_template();
    if (src.empty()) src = *chat::builtin_template("chatml");
    chat::ChatTemplate tpl(src);
    const Vocab& v = m.tokenizer()->vocab();
    auto piece = [&](int32_t id) { return id >= 0 && id < v.n_tokens() ? std::string(v.tokens[id]) : std::string(); };
    return tpl.apply(msgs, true, piece(v.bos), piece(v.eos));
}

int generate_once(const RunOptions& o, uint64_t seed) {
    auto model = o.model.load(o.json);
    Engine engine(model, model->tokenizer(), o.model.engine_options(1));
    std::string text = o.prompt;
    bool add_bos = !o.no_bos, special = o.special;
    if (o.chat) {
        std::vector<chat::Message> msgs;
        if (!o.system.empty()) msgs.push_back({"system", o.system, {}});
        msgs.push_back({"user", o.prompt, {}});
        text = render_chat(*model, msgs);
        add_bos = false;  // templates write BOS themselves where the model wants it
        special = true;
    }
    Request r;
    r.prompt = model->tokenizer()->encode(text, add_bos, special);
    r.sampling = sampling(o, seed);
    r.max_tokens = o.n_predict;
    r.ignore_eos = o.ignore_eos;
    r.top_logits = o.top_logits;
    if (o.json_object) r.constraint = std::make_shared<JsonConstraint>(make_json_vocab(*model->tokenizer()));
    if (!o.json) {
        r.on_event = [](const StreamEvent& ev) {
            std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
            std::fflush(stdout);
            return true;
        };
    }
    Completion c = engine.generate(std::move(r));
    if (c.finish == FinishReason::error) fail(Errc::internal, "generation failed: {}", c.error);
    if (o.json) {
        nlohmann::json top = nlohmann::json::array();
        for (const auto& ti : c.token_info) {
            nlohmann::json step = nlohmann::json::array();
            for (const auto& [id, l] : ti.top_logits) step.push_back({id, l});
            top.push_back(step);
        }
        nlohmann::json out = {{"prompt_tokens", c.prompt_tokens},
                              {"tokens", c.tokens},
                              {"text", c.text},
                              {"finish_reason", finish_reason_name(c.finish)},
                              {"seed", seed}};
        if (o.top_logits > 0) out["top_logits"] = top;
        std::string s = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fputc('\n', stdout);
    } else {
        std::fputc('\n', stdout);
        std::fflush(stdout);
        double tps = c.tokens.size() > 1 && c.total_ms > c.ttft_ms
                         ? double(c.tokens.size() - 1) * 1000.0 / (c.total_ms - c.ttft_ms)
                         : 0.0;
        std::fprintf(stderr, "kinglet: %zu prompt tokens, %zu generated (%s), first token %.0f ms, %.1f tokens/s\n",
                     c.prompt_tokens.size(), c.tokens.size(), finish_reason_name(c.finish), c.ttft_ms, tps);
    }
    return 0;
}

int chat_loop(const RunOptions& o, uint64_t seed) {
    auto model = o.model.load();
    Engine engine(model, model->tokenizer(), o.model.engine_options(1));
    std::shared_ptr<const JsonVocab> json_vocab;
    if (o.json_object) json_vocab = make_json_vocab(*model->tokenizer());
    std::vector<chat::Message> history;
    if (!o.system.empty()) history.push_back({"system", o.system, {}});
    const bool tty = isatty(STDIN_FILENO);
    if (tty) std::fprintf(stderr, "kinglet: chat with the model; an empty line or Ctrl-D ends.\n");
    std::string line;
    for (uint64_t turn = 0;; ++turn) {
        if (tty) std::fprintf(stderr, "> ");
        if (!std::getline(std::cin, line) || line.empty()) break;
        history.push_back({"user", line, {}});
        Request r;
        r.prompt = model->tokenizer()->encode(render_chat(*model, history), false, true);
        r.sampling = sampling(o, seed + turn);
        r.max_tokens = o.n_predict;
        if (o.json_object) r.constraint = std::make_shared<JsonConstraint>(json_vocab);
        r.on_event = [](const StreamEvent& ev) {
            std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
            std::fflush(stdout);
            return true;
        };
        Completion c = engine.generate(std::move(r));
        std::fputc('\n', stdout);
        history.push_back({"assistant", c.text, {}});
    }
    return 0;
}

const Registrar registrar{Command{
    "run",
    "Generate text from a prompt (streamed; --json for one JSON object), or chat when no prompt is given",
    [](CLI::App& sub) {
        auto o = std::make_shared<RunOptions>();
        o->model.add(sub);
        auto* p = sub.add_option("-p,--prompt", o->prompt, "Prompt text (omit to chat interactively)");
        sub.add_option("-n,--n-predict", o->n_predict, "Tokens to generate at most")->capture_default_str();
        sub.add_option("--temp", o->temp, "Temperature (0 = greedy)")->capture_default_str();
        sub.add_option("--top-k", o->top_k, "Top-k (0 = off)")->capture_default_str();
        sub.add_option("--top-p", o->top_p, "Top-p (1 = off)")->capture_default_str();
        sub.add_option("--min-p", o->min_p, "Min-p (0 = off)")->capture_default_str();
        sub.add_option("--repeat-penalty", o->repeat_penalty, "Repetition penalty (1 = off)")->capture_default_str();
        sub.add_option("--seed", o->seed, "Random seed (default: random; printed with --json)");
        sub.add_flag("--json", o->json, "Print one JSON object: prompt_tokens, tokens, text (and top_logits)");
        sub.add_option("--top-logits", o->top_logits, "With --json: the K largest raw logits of every step");
        sub.add_flag("--special", o->special, "Parse special-token text in the prompt (e.g. <|im_start|>)");
        sub.add_flag("--no-bos", o->no_bos, "Do not add the BOS token");
        sub.add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-generation tokens");
        sub.add_flag("--chat", o->chat, "Wrap the prompt as a user message in the model's chat template");
        sub.add_flag("--json-object", o->json_object,
                     "JSON mode: the answer is one JSON object (as the API's response_format json_object)");
        sub.add_option("-s,--system", o->system, "System message for --chat and the interactive chat");
        return [o, p] {
            o->has_prompt = p->count() > 0;
            uint64_t seed = o->seed >= 0 ? uint64_t(o->seed) : std::random_device{}();
            if (o->top_logits < 0) fail(Errc::invalid_argument, "--top-logits must not be negative");
            if (o->n_predict < 0) fail(Errc::invalid_argument, "--n-predict must not be negative");
            return o->has_prompt ? generate_once(*o, seed) : chat_loop(*o, seed);
        };
    }}};

}  // namespace
}  // namespace kinglet::cli
