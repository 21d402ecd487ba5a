// Every real chat template in tests/data/chat/templates/ renders byte-identical to @huggingface/jinja
// (vectors made by scripts/gen_chat_template_vectors.mjs; Python's jinja2 agrees on all of them, see
// scripts/check_chat_vectors_jinja2.py).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "chat/template.h"
#include "core/error.h"
#include "support/paths.h"

namespace {

using kinglet::chat::ChatTemplate;
using nlohmann::ordered_json;

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::filesystem::path data_dir() {
    return kinglet::test::source_dir() / "tests/data/chat";
}

ordered_json load_vectors() {
    return ordered_json::parse(read_file(data_dir() / "vectors.json"));
}

// The vectors pin strftime_now() to 2024-07-26 12:00 UTC.
kinglet::chat::RenderOptions fixed_clock() {
    setenv("TZ", "UTC", 1);
    tzset();
    kinglet::chat::RenderOptions o;
    o.now = std::chrono::system_clock::from_time_t(1721995200);
    return o;
}

TEST(ChatReferenceVectors, EveryTemplateRendersLikeHuggingFaceJinja) {
    ordered_json doc = load_vectors();
    const auto& vectors = doc.at("vectors");
    ASSERT_GE(vectors.size(), 150u);
    auto opts = fixed_clock();
    std::map<std::string, std::unique_ptr<ChatTemplate>> templates;
    size_t checked = 0;
    for (const auto& v : vectors) {
        const std::string file = v.at("template").get<std::string>();
        SCOPED_TRACE(file + " " + v.at("case").get<std::string>());
        auto& tpl = templates[file];
        if (!tpl) tpl = std::make_unique<ChatTemplate>(read_file(data_dir() / "templates" / file));
        if (v.contains("expected")) {
            std::string got;
            try {
                got = tpl->render(v.at("context"), opts);
            } catch (const kinglet::Error& e) {
                ADD_FAILURE() << "unexpected error: " << e.what();
                continue;
            }
            EXPECT_EQ(got, v.at("expected").get<std::string>());
        } else {
            try {
                tpl->render(v.at("context"), opts);
                ADD_FAILURE() << "expected the template to raise: " << v.at("error").get<std::string>();
            } catch (const kinglet::Error& e) {
                EXPECT_EQ(e.code(), kinglet::Errc::invalid_argument);
                EXPECT_EQ(std::string(e.what()), v.at("error").get<std::string>());
            }
        }
        ++checked;
    }
    EXPECT_EQ(checked, vectors.size());
    EXPECT_GE(templates.size(), 15u);
}

TEST(ChatReferenceVectors, ApplyBuildsTheSameContextAsRender) {
    // apply() is render() over {messages, add_generation_prompt, bos_token, eos_token}.
    ordered_json doc = load_vectors();
    fixed_clock();
    for (const auto& v : doc.at("vectors")) {
        if (v.at("template") != "llama3-8b-instruct.jinja" || v.at("case") != "system_multi_turn/gen")
            continue;
        ChatTemplate tpl(read_file(data_dir() / "templates/llama3-8b-instruct.jinja"));
        std::vector<kinglet::chat::Message> msgs;
        for (const auto& m : v.at("context").at("messages"))
            msgs.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>(), {}});
        EXPECT_EQ(tpl.apply(msgs, true, "<|begin_of_text|>", "<|eot_id|>"),
                  v.at("expected").get<std::string>());
        return;
    }
    FAIL() << "vector not found";
}

}  // namespace
