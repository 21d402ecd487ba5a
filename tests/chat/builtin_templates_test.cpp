// The fallback templates render what the published templates of their model families render
// (checked against the @huggingface/jinja reference vectors of those published templates).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "chat/template.h"
#include "core/error.h"
#include "support/paths.h"

namespace {

using kinglet::chat::builtin_template;
using kinglet::chat::ChatTemplate;
using nlohmann::ordered_json;

ordered_json load_vectors() {
    std::ifstream in(kinglet::test::source_dir() / "tests/data/chat/vectors.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return ordered_json::parse(ss.str());
}

struct Pairing {
    const char* builtin;
    const char* published;
    std::set<std::string> cases;  // conversation names compared; empty means all without tools
    bool gen_only = false;        // the published template always adds the generation prompt
};

TEST(ChatBuiltinTemplates, MatchThePublishedTemplatesTheyStandIn) {
    const std::vector<Pairing> pairings = {
        {"chatml", "qwen3.jinja", {"single_user", "system_multi_turn", "multi_turn", "special_chars"}},
        {"chatml", "smollm2-instruct.jinja", {"system_multi_turn", "special_chars"}},
        {"llama3", "llama3-8b-instruct.jinja", {}, true},
        {"llama2", "llama-2-7b-chat.jinja", {}},
        {"mistral", "mistral-7b-instruct-v0.1.jinja", {}},
        {"gemma", "gemma3-it.jinja", {}},
        {"phi3", "phi-3.5-mini-instruct.jinja", {}},
        {"granite", "granite-3.0-8b-instruct.jinja", {}},
        {"deepseek-r1", "deepseek-r1-distill.jinja", {}},
    };
    ordered_json doc = load_vectors();
    for (const auto& p : pairings) {
        auto src = builtin_template(p.builtin);
        ASSERT_TRUE(src) << p.builtin;
        ChatTemplate tpl(*src);
        size_t compared = 0;
        for (const auto& v : doc.at("vectors")) {
            if (v.at("template") != p.published || !v.contains("expected")) continue;
            std::string c = v.at("case").get<std::string>();
            std::string conversation = c.substr(0, c.find('/'));
            if (conversation == "tools" || conversation == "documents" || conversation == "thinking" ||
                conversation == "no_thinking")
                continue;
            if (!p.cases.empty() && !p.cases.count(conversation)) continue;
            if (p.gen_only && c.substr(c.find('/') + 1) != "gen") continue;
            SCOPED_TRACE(std::string(p.builtin) + " vs " + p.published + " " + c);
            EXPECT_EQ(tpl.render(v.at("context")), v.at("expected").get<std::string>());
            ++compared;
        }
        EXPECT_GE(compared, 4u) << p.builtin << " vs " << p.published;
    }
}

TEST(ChatBuiltinTemplates, ZephyrHasTheDocumentedFormat) {
    ChatTemplate t(*builtin_template("zephyr"));
    std::vector<kinglet::chat::Message> msgs = {{"system", "Be brief.", {}}, {"user", "Hi", {}}};
    EXPECT_EQ(t.apply(msgs, true, "<s>", "</s>"),
              "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n");
}

TEST(ChatBuiltinTemplates, EveryNameParsesAndUnknownNamesAreAbsent) {
    for (const auto& name : kinglet::chat::builtin_template_names()) {
        auto src = builtin_template(name);
        ASSERT_TRUE(src) << name;
        ChatTemplate t(*src);
        std::vector<kinglet::chat::Message> msgs = {{"user", "x", {}}};
        EXPECT_NE(t.apply(msgs, true, "<s>", "</s>").find('x'), std::string::npos) << name;
    }
    EXPECT_FALSE(builtin_template("no-such-format"));
}

}  // namespace
