// Templates come from user-supplied model files: hostile ones must end in kinglet::Error quickly,
// never hang, overflow the stack or exhaust memory.
#include <gtest/gtest.h>

#include <string>

#include "chat/template.h"
#include "core/error.h"

namespace {

using kinglet::chat::ChatTemplate;
using kinglet::chat::RenderOptions;

RenderOptions small_limits() {
    RenderOptions o;
    o.limits.max_steps = 200'000;
    o.limits.max_output_bytes = 100'000;
    o.limits.max_string_bytes = 1'000'000;
    o.limits.max_created_bytes = 10'000'000;
    o.limits.max_list_items = 100'000;
    return o;
}

std::string failure(const std::string& src, const RenderOptions& o = RenderOptions{}) {
    try {
        ChatTemplate(src).render(nlohmann::ordered_json::object(), o);
    } catch (const kinglet::Error& e) {
        EXPECT_EQ(e.code(), kinglet::Errc::invalid_argument) << e.what();
        return e.what();
    }
    return "(rendered)";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

TEST(ChatLimits, HugeRangeFailsBeforeAllocating) {
    EXPECT_TRUE(
        contains(failure("{% for i in range(10**9) %}{% endfor %}"), "range() of more than 1048576 items"));
    EXPECT_TRUE(contains(failure("{{ range(-9223372036854775807, 9223372036854775807) | length }}"),
                         "range() of more than"));
}

TEST(ChatLimits, NestedLoopsRunOutOfSteps) {
    auto e = failure(
        "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        small_limits());
    EXPECT_TRUE(contains(e, "more than 200000 evaluation steps")) << e;
}

TEST(ChatLimits, ExponentialStringsStop) {
    auto e = failure(
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        small_limits());
    EXPECT_TRUE(contains(e, "a string grew past 1000000 bytes")) << e;
    EXPECT_TRUE(contains(failure("{{ 'a' * 10**12 }}", small_limits()), "a string grew past"));
    EXPECT_TRUE(
        contains(failure("{{ ('abc' * 100000) | replace('', 'xyz') }}", small_limits()), "grew past"));
}

TEST(ChatLimits, ExponentialListsStop) {
    auto e = failure(
        "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
        small_limits());
    EXPECT_TRUE(contains(e, "a list grew past 100000 items")) << e;
    EXPECT_TRUE(contains(failure("{{ [1, 2] * 10**15 }}", small_limits()), "a list grew past"));
}

TEST(ChatLimits, PrintingAHugeSharedListStops) {
    // A list of many references to one long string is cheap to build but huge to print.
    auto e = failure("{{ ['x' * 1000] * 100000 }}", small_limits());
    EXPECT_TRUE(contains(e, "grew past")) << e;
    e = failure("{{ (['x' * 1000] * 100000) | tojson }}", small_limits());
    EXPECT_TRUE(contains(e, "grew past")) << e;
    e = failure("{{ (['x' * 1000] * 100000) | join }}", small_limits());
    EXPECT_TRUE(contains(e, "grew past")) << e;
}

TEST(ChatLimits, OutputIsBounded) {
    auto e = failure("{% for i in range(100000) %}0123456789{% endfor %}", small_limits());
    EXPECT_TRUE(contains(e, "the rendered text grew past 100000 bytes")) << e;
}

TEST(ChatLimits, RecursiveMacrosStop) {
    EXPECT_TRUE(contains(failure("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"),
                         "macro calls nest more than 64 deep"));
    // Exponential fan-out within the depth limit runs out of steps instead.
    auto e = failure(
        "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
        small_limits());
    EXPECT_TRUE(contains(e, "evaluation steps")) << e;
}

TEST(ChatLimits, DeepNestingIsASyntaxError) {
    auto deep = [](const std::string& open, const std::string& mid, const std::string& close, int n) {
        std::string s;
        for (int i = 0; i < n; ++i) s += open;
        s += mid;
        for (int i = 0; i < n; ++i) s += close;
        return s;
    };
    auto syntax = [](const std::string& src) {
        try {
            ChatTemplate t(src);
        } catch (const kinglet::Error& e) {
            return std::string(e.what());
        }
        return std::string("(parsed)");
    };
    EXPECT_TRUE(contains(syntax("{{ " + deep("(", "1", ")", 100000) + " }}"), "nests more than 128 levels"));
    EXPECT_TRUE(contains(syntax("{{ " + deep("[", "1", "]", 100000) + " }}"), "nests more than 128 levels"));
    EXPECT_TRUE(
        contains(syntax("{{ " + deep("not ", "1", "", 100000) + " }}"), "nests more than 128 levels"));
    EXPECT_TRUE(contains(syntax("{{ " + deep("-", "1", "", 100000) + " }}"), "nests more than 128 levels"));
    EXPECT_TRUE(
        contains(syntax(deep("{% if x %}", "", "{% endif %}", 100000)), "nests more than 128 levels"));
    EXPECT_TRUE(contains(syntax("{{ " + deep("1 if x else ", "1", "", 100000) + " }}"),
                         "nests more than 128 levels"));
    EXPECT_EQ(syntax("{{ " + deep("(", "1", ")", 100) + " }}"), "(parsed)");
}

TEST(ChatLimits, DeeplyNestedValuesStop) {
    auto e = failure(
        "{% set ns = namespace(v=[]) %}{% for i in range(10000) %}{% set ns.v = [ns.v] %}{% endfor %}");
    EXPECT_TRUE(contains(e, "nested more than 256 levels")) << e;
    nlohmann::ordered_json deep = nlohmann::ordered_json::array();
    for (int i = 0; i < 1000; ++i) deep = nlohmann::ordered_json::array({deep});
    try {
        ChatTemplate("{{ x }}").render(nlohmann::ordered_json{{"x", deep}});
        ADD_FAILURE() << "rendered a 1000-deep context";
    } catch (const kinglet::Error& err) {
        EXPECT_TRUE(contains(err.what(), "nested more than 256 levels")) << err.what();
    }
}

TEST(ChatLimits, LargeContextObjectsStayCheap) {
    // A request can carry big JSON objects (tool schemas): conversion and lookups must not be quadratic.
    nlohmann::json big = nlohmann::json::object();  // ordered_json inserts in linear time per key
    for (int i = 0; i < 200000; ++i) {
        std::string key = std::to_string(i);
        key.insert(key.begin(), 'k');
        big[key] = i;
    }
    ChatTemplate t(
        "{{ d | length }} {{ d.k199999 }} {{ d['k5'] }} {{ 'k7' in d }} {% set ns = namespace(x=d) %}{{ "
        "ns.x.k3 }}");
    nlohmann::json ctx = nlohmann::json::object();
    ctx["d"] = std::move(big);
    EXPECT_EQ(t.render(ctx), "200000 199999 5 true 3");
}

TEST(ChatLimits, RealTemplatesFitWellInsideTheDefaults) {
    // A long conversation through a loop-heavy template uses a small share of the budget.
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    for (int i = 0; i < 2000; ++i)
        msgs.push_back({{"role", i % 2 ? "assistant" : "user"}, {"content", "message " + std::to_string(i)}});
    ChatTemplate t(
        "{%- set ns = namespace(n=0) -%}{%- for m in messages[::-1] -%}{%- if m.role == 'user' -%}"
        "{%- set ns.n = ns.n + 1 -%}{%- endif -%}{%- endfor -%}"
        "{%- for m in messages -%}<|{{ m.role }}|>{{ m.content | trim }}{%- endfor -%}{{ ns.n }}");
    RenderOptions o;
    o.limits.max_steps = 200'000;
    std::string out = t.render(nlohmann::ordered_json{{"messages", msgs}}, o);
    EXPECT_EQ(out.substr(out.size() - 4), "1000");
}

}  // namespace
