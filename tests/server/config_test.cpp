// The configuration file: every field read, relative paths resolved from the file's folder, and every
// mistake reported with file:line:column and the key at fault.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "server/config.h"

namespace kinglet::server {
namespace {

std::string error_of(std::string_view yaml) {
    try {
        parse_config(yaml, "t.yaml", "/cfg");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(Config, FullExample) {
    const char* yaml = R"(
server:
  host: 0.0.0.0
  port: 9000
  api_keys: [k1, k2]
  api_keys_file: keys.txt
  http_threads: 64
  max_body_bytes: 1048576
  request_timeout_s: 12.5
  shutdown_timeout_s: 3
  keep_alive_s: 2
  max_n: 4
models:
  small:
    path: models/small.gguf
    ctx: 2048
    parallel: 8
    threads: 2
    batch_tokens: 256
    max_queue: 10
    prefix_cache: false
    kv_type: f32
    chat_template: chatml
  other: /abs/other.gguf
  templ: { path: t.gguf, chat_template: templates/mine.jinja, kv_type: q8_0 }
)";
    Config c = parse_config(yaml, "t.yaml", "/cfg");
    EXPECT_EQ(c.server.host, "0.0.0.0");
    EXPECT_EQ(c.server.port, 9000);
    EXPECT_EQ(c.server.api_keys, (std::vector<std::string>{"k1", "k2"}));
    EXPECT_EQ(c.server.api_keys_file, "/cfg/keys.txt");
    EXPECT_EQ(c.server.http_threads, 64);
    EXPECT_EQ(c.server.max_body_bytes, 1048576);
    EXPECT_DOUBLE_EQ(c.server.request_timeout_s, 12.5);
    EXPECT_DOUBLE_EQ(c.server.shutdown_timeout_s, 3);
    EXPECT_EQ(c.server.keep_alive_s, 2);
    EXPECT_EQ(c.server.max_n, 4);
    ASSERT_EQ(c.models.size(), 3u);
    const ModelConfig& s = c.models[0];  // file order
    EXPECT_EQ(s.name, "small");
    EXPECT_EQ(s.path, "/cfg/models/small.gguf");
    EXPECT_EQ(s.ctx, 2048);
    EXPECT_EQ(s.parallel, 8);
    EXPECT_EQ(s.threads, 2);
    EXPECT_EQ(s.batch_tokens, 256);
    EXPECT_EQ(s.max_queue, 10);
    EXPECT_FALSE(s.prefix_cache);
    EXPECT_EQ(s.kv_type, "f32");
    EXPECT_EQ(s.chat_template, "chatml");  // a built-in name stays a name
    EXPECT_EQ(s.origin, "t.yaml:14:3");
    EXPECT_EQ(c.models[1].name, "other");
    EXPECT_EQ(c.models[1].path, "/abs/other.gguf");
    EXPECT_EQ(c.models[1].parallel, 4);  // defaults
    EXPECT_EQ(c.models[2].chat_template, "/cfg/templates/mine.jinja");
    EXPECT_EQ(c.models[2].kv_type, "q8_0");
    EXPECT_EQ(c.models[1].kv_type, "f16");  // the default
    EXPECT_NO_THROW(validate(c));
}

TEST(Config, EmptyFileGivesDefaults) {
    Config c = parse_config("", "t.yaml", "/cfg");
    EXPECT_EQ(c.server.host, "127.0.0.1");
    EXPECT_EQ(c.server.port, 8080);
    EXPECT_TRUE(c.models.empty());
    EXPECT_THROW(validate(c), Error);  // but nothing to serve
}

TEST(Config, UnknownKeysNameFileLineColumnAndAllowedKeys) {
    std::string e = error_of("server:\n  host: x\n  prot: 80\n");
    EXPECT_NE(e.find("t.yaml:3:3"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown key 'prot' in server"), std::string::npos) << e;
    EXPECT_NE(e.find("port"), std::string::npos) << e;  // the allowed keys are listed

    e = error_of("models:\n  small:\n    path: a.gguf\n    contxt: 5\n");
    EXPECT_NE(e.find("t.yaml:4:5"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown key 'contxt' in models.small"), std::string::npos) << e;

    e = error_of("modles:\n  a: b\n");
    EXPECT_NE(e.find("t.yaml:1:1"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown key 'modles' in the configuration"), std::string::npos) << e;
}

TEST(Config, WrongTypesAndRanges) {
    std::string e = error_of("server:\n  port: eighty\n");
    EXPECT_NE(e.find("t.yaml:2:9"), std::string::npos) << e;
    EXPECT_NE(e.find("server.port"), std::string::npos) << e;
    EXPECT_NE(e.find("expected an integer, got 'eighty'"), std::string::npos) << e;

    e = error_of("server:\n  port: 70000\n");
    EXPECT_NE(e.find("must be between 0 and 65535"), std::string::npos) << e;

    e = error_of("server:\n  host: [a, b]\n");
    EXPECT_NE(e.find("server.host: expected a string"), std::string::npos) << e;

    e = error_of("models:\n  m: {path: a, parallel: 0}\n");
    EXPECT_NE(e.find("models.m.parallel"), std::string::npos) << e;

    e = error_of("models:\n  m: {path: a, prefix_cache: maybe}\n");
    EXPECT_NE(e.find("expected true or false, got 'maybe'"), std::string::npos) << e;

    e = error_of("models:\n  m: {path: a, kv_type: q8}\n");
    EXPECT_NE(e.find("models.m.kv_type"), std::string::npos) << e;
    EXPECT_NE(e.find("must be f16, f32 or q8_0"), std::string::npos) << e;

    e = error_of("models:\n  m: {ctx: 5}\n");
    EXPECT_NE(e.find("'path' (the GGUF file) is required"), std::string::npos) << e;

    e = error_of("models: [a, b]\n");
    EXPECT_NE(e.find("models must be a mapping"), std::string::npos) << e;

    e = error_of("models:\n  'bad name!': a.gguf\n");
    EXPECT_NE(e.find("letters, digits"), std::string::npos) << e;
}

TEST(Config, DuplicateKeysAreErrors) {
    std::string e = error_of("server:\n  port: 1\n  port: 2\n");
    EXPECT_NE(e.find("t.yaml:3:3: duplicate key 'server.port'"), std::string::npos) << e;
    EXPECT_NE(e.find("first at t.yaml:2:3"), std::string::npos) << e;
}

TEST(Config, YamlSyntaxErrorsHaveLineAndColumn) {
    try {
        parse_config("server:\n  host: [unclosed\n", "t.yaml", "/cfg");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::invalid_file);
        EXPECT_NE(std::string(e.what()).find("t.yaml:"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("YAML syntax error"), std::string::npos) << e.what();
    }
}

TEST(Config, LoadConfigReadsAFileAndResolvesPathsFromItsFolder) {
    const auto dir = std::filesystem::temp_directory_path() / ("kinglet-config-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "kinglet.yaml";
    std::ofstream(file) << "models:\n  m: sub/model.gguf\n";
    Config c = load_config(file.string());
    ASSERT_EQ(c.models.size(), 1u);
    EXPECT_EQ(c.models[0].path, (dir / "sub/model.gguf").string());
    std::filesystem::remove_all(dir);
    try {
        load_config((dir / "missing.yaml").string());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::not_found);
        EXPECT_NE(std::string(e.what()).find("missing.yaml"), std::string::npos);
    }
}

TEST(Config, ValidateRejectsDuplicateNames) {
    Config c;
    ModelConfig a;
    a.name = "x";
    a.path = "a.gguf";
    a.origin = "--model x=a.gguf";
    c.models = {a, a};
    try {
        validate(c);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'x' is declared twice"), std::string::npos) << e.what();
    }
}

TEST(Config, ModelNames) {
    EXPECT_TRUE(valid_model_name("llama-3.2-1b:q4_k_m"));
    EXPECT_TRUE(valid_model_name("org/model"));
    EXPECT_FALSE(valid_model_name(""));
    EXPECT_FALSE(valid_model_name("/abs"));
    EXPECT_FALSE(valid_model_name("a b"));
    EXPECT_FALSE(valid_model_name("a\"b"));
}

}  // namespace
}  // namespace kinglet::server
