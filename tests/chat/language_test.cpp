// The template language on small templates with hand-written expected output: statements, operators,
// tests, filters, methods, whitespace control, undefined values and scoping. Expectations follow
// Python jinja2 as Hugging Face configures it, and @huggingface/jinja for how values print
// (true/false, none as nothing, lists and dicts as JSON) -- see src/chat/template.h.
#include <gtest/gtest.h>

#include "chat/template.h"
#include "core/error.h"

namespace {

using kinglet::chat::ChatTemplate;
using nlohmann::ordered_json;

std::string render(const std::string& src, const std::string& ctx = "{}") {
    return ChatTemplate(src).render(ordered_json::parse(ctx));
}

std::string error_of(const std::string& src, const std::string& ctx = "{}") {
    try {
        ChatTemplate(src).render(ordered_json::parse(ctx));
    } catch (const kinglet::Error& e) {
        EXPECT_EQ(e.code(), kinglet::Errc::invalid_argument);
        return e.what();
    }
    return "(no error)";
}

TEST(ChatLanguage, TextAndOutput) {
    EXPECT_EQ(render("plain text"), "plain text");
    EXPECT_EQ(render("a{{ x }}b", R"({"x": "X"})"), "aXb");
    EXPECT_EQ(render("{{ 'it''s' }}|{{ \"a\" 'b' }}"), "its|ab");  // adjacent literals concatenate
    EXPECT_EQ(render("{{ 'a\\nb\\t\\'q\\'\\u00e9\\x41' }}"),
              "a\nb\t'q'\xc3\xa9"
              "A");
    EXPECT_EQ(render("{{ '\\d' }}"), "\\d");  // unknown escapes stay as written
    EXPECT_EQ(render("a{# comment #}b"), "ab");
    EXPECT_EQ(render("x\n"), "x");  // one trailing newline is dropped
    EXPECT_EQ(render("x\n\n"), "x\n");
}

TEST(ChatLanguage, ValuesPrintLikeHuggingFaceJinja) {
    EXPECT_EQ(render("[{{ none }}][{{ missing }}]"), "[][]");
    EXPECT_EQ(render("{{ true }} {{ false }} {{ True }}"), "true false true");
    EXPECT_EQ(render("{{ 42 }} {{ -7 }} {{ 1.5 }} {{ 2.0 }} {{ 10 / 4 }} {{ 1 / 3 }}"),
              "42 -7 1.5 2.0 2.5 0.3333333333333333");
    EXPECT_EQ(render("{{ [1, 'a', none, true, [2]] }}"), R"([1, "a", null, true, [2]])");
    EXPECT_EQ(render("{{ {'k': 'v', 'n': {'x': 1}} }}"), R"({"k": "v", "n": {"x": 1}})");
    EXPECT_EQ(render("{{ x }}", R"({"x": 1e300})"), "1e+300");
    EXPECT_EQ(render("{{ x }}", R"({"x": 0.0001})"), "0.0001");
    EXPECT_EQ(render("{{ x }}", R"({"x": 0.00001})"), "1e-05");
}

TEST(ChatLanguage, TrimAndLstripBlocks) {
    EXPECT_EQ(render("{% if true %}\nx\n{% endif %}\ny"), "x\ny");
    EXPECT_EQ(render("a\n    {% if true %}\n    b\n    {% endif %}\nc"), "a\n    b\nc");
    // Expression tags are not lstripped, and trim_blocks leaves the newline after }}.
    EXPECT_EQ(render("  {{ 'x' }}\ny"), "  x\ny");
    EXPECT_EQ(render("a\n  {# note #}\nb"), "a\nb");
}

TEST(ChatLanguage, GenerationMarkersRenderTheirContent) {
    // transformers' {% generation %} marks assistant text for masks; it renders as plain content.
    EXPECT_EQ(render("a{% generation %}b{% endgeneration %}c"), "abc");
    EXPECT_EQ(render("a\n{% generation %}\nb\n{% endgeneration %}\nc"), "a\nb\nc");
    EXPECT_EQ(render("a \n{%- generation -%}\n b {%- endgeneration %}c"), "abc");
}

TEST(ChatLanguage, WhitespaceControl) {
    EXPECT_EQ(render("a   {{- 'b' -}}   c"), "abc");
    EXPECT_EQ(render("a \n {%- if true -%} \n b \n {%- endif -%} \n c"), "abc");
    EXPECT_EQ(render("a  {#- gone -#}  b"), "ab");
    EXPECT_EQ(render("{{ 'a' }}\n{{ 'b' }}\n"), "a\nb");
    EXPECT_EQ(render("x  {%- set y = 1 %}  z"), "x  z");
}

TEST(ChatLanguage, Arithmetic) {
    EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }}"),
              "7 9 3 -4 1 2");
    EXPECT_EQ(render("{{ 2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}"),
              "1024 64 0.5 3.0 0.5");
    EXPECT_EQ(render("{{ 1 + 1.5 }} {{ 3 - 5 }} {{ -(3) }} {{ +4 }} {{ true + 1 }}"), "2.5 -2 -3 4 2");
    EXPECT_EQ(render("{{ 'ab' * 3 }}|{{ [1] * 2 }}|{{ [1, 2] + [3] }}|{{ 'a' + 'b' }}"),
              "ababab|[1, 1]|[1, 2, 3]|ab");
    EXPECT_EQ(render("{{ 'n=' ~ 3 ~ true ~ none }}|{{ 'x' + 1 }}"), "n=3trueNone|x1");
    EXPECT_NE(error_of("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
    EXPECT_NE(error_of("{{ 1 % 0 }}").find("modulo by zero"), std::string::npos);
    EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("overflow"), std::string::npos);
    EXPECT_NE(error_of("{{ 2 ** 64 }}").find("overflow"), std::string::npos);
    EXPECT_NE(error_of("{{ none + 1 }}").find("unsupported operand"), std::string::npos);
}

TEST(ChatLanguage, ComparisonsAndLogic) {
    EXPECT_EQ(render("{{ 1 < 2 }}{{ 2 <= 1 }}{{ 'a' == 'a' }}{{ 'a' != 'a' }}{{ 3 > 2 }}{{ 1 >= 1 }}"),
              "truefalsetruefalsetruetrue");
    EXPECT_EQ(render("{{ 'abc' < 'abd' }}{{ 1 == 1.0 }}{{ [1, 2] == [1, 2] }}{{ {'a': 1} == {'a': 1} }}"),
              "truetruetruetrue");
    EXPECT_EQ(render("{{ none == none }}{{ 1 == '1' }}{{ true == 1 }}"), "truefalsetrue");
    // and/or return an operand, as in Python.
    EXPECT_EQ(render("{{ 0 or 'x' }}|{{ 'a' and 'b' }}|{{ '' and 'b' }}|{{ not 0 }}|{{ not not 'x' }}"),
              "x|b||true|true");
    EXPECT_EQ(
        render("{{ 'b' in 'abc' }}{{ 2 in [1, 2] }}{{ 'k' in d }}{{ 'q' not in d }}{{ 'x' in missing }}",
               R"({"d": {"k": 1}})"),
        "truetruetruetruefalse");
    EXPECT_EQ(render("{{ {'a': 1} in [{'a': 1}] }}"), "true");
    EXPECT_NE(error_of("{{ 1 < 'a' }}").find("cannot compare"), std::string::npos);
}

TEST(ChatLanguage, ConditionalExpressions) {
    EXPECT_EQ(render("{{ 'yes' if flag else 'no' }}|{{ 'a' if false }}|{{ 1 if 0 else 2 if 0 else 3 }}",
                     R"({"flag": true})"),
              "yes||3");
}

TEST(ChatLanguage, SubscriptsAndSlices) {
    const char* ctx = R"({"xs": [1, 2, 3, 4, 5], "d": {"k": "v", "n": {"m": 7}}, "s": "héllo"})";
    EXPECT_EQ(
        render(
            "{{ xs[0] }}{{ xs[-1] }}{{ xs[9] }}{{ d['k'] }}{{ d.k }}{{ d.n.m }}{{ d['n']['m'] }}{{ s[1] }}",
            ctx),
        "15vv77é");
    EXPECT_EQ(render("{{ xs[1:3] }}{{ xs[:2] }}{{ xs[3:] }}{{ xs[::-1] }}{{ xs[::2] }}{{ xs[-1:0:-1] }}{{ "
                     "xs[:-2:-1] }}",
                     ctx),
              "[2, 3][1, 2][4, 5][5, 4, 3, 2, 1][1, 3, 5][5, 4, 3, 2][5]");
    EXPECT_EQ(render("{{ s[::-1] }}|{{ s[1:3] }}|{{ s[-2:] }}|{{ s[10:] }}", ctx), "olléh|él|lo|");
    EXPECT_EQ(render("{{ xs.0 }}{{ d.missing }}", ctx), "1");
    EXPECT_NE(error_of("{{ xs[::0] }}", ctx).find("step cannot be zero"), std::string::npos);
}

TEST(ChatLanguage, Literals) {
    EXPECT_EQ(
        render("{{ [1, 'a', [2, 3]][2][1] }}{{ {'a': {'b': 'c'}}.a.b }}{{ (1, 2)[1] }}{{ [] }}{{ {} }}"),
        "3c2[]{}");
    EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
}

TEST(ChatLanguage, Tests) {
    const char* ctx = R"({"s": "str", "n": 3, "f": 1.5, "b": true, "l": [1], "d": {"a": 1}, "z": null})";
    EXPECT_EQ(
        render("{{ s is defined }}{{ q is defined }}{{ q is undefined }}{{ z is none }}{{ s is not none }}",
               ctx),
        "truefalsetruetruetrue");
    EXPECT_EQ(
        render("{{ s is string }}{{ n is string }}{{ n is number }}{{ f is number }}{{ b is number }}", ctx),
        "truefalsetruetruefalse");
    EXPECT_EQ(
        render(
            "{{ d is mapping }}{{ l is mapping }}{{ l is iterable }}{{ s is iterable }}{{ n is iterable }}",
            ctx),
        "truefalsetruetruefalse");
    EXPECT_EQ(
        render(
            "{{ l is sequence }}{{ s is sequence }}{{ n is sequence }}{{ b is boolean }}{{ n is boolean }}",
            ctx),
        "truetruefalsetruefalse");
    EXPECT_EQ(
        render("{{ b is true }}{{ b is false }}{{ 1 is true }}{{ n is odd }}{{ n is even }}{{ 4 is even }}",
               ctx),
        "truefalsefalsetruefalsetrue");
    EXPECT_EQ(
        render("{{ 9 is divisibleby(3) }}{{ 9 is divisibleby 4 }}{{ n is integer }}{{ f is float }}", ctx),
        "truefalsetruetrue");
    EXPECT_EQ(render("{{ 'a' is equalto 'a' }}{{ 2 is eq(3) }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ '12' "
                     "is lower }}"),
              "truefalsetruetruefalse");
    EXPECT_EQ(render("{{ 1 is in [1, 2] }}{{ 3 is gt 2 }}{{ 'trim' is filter }}{{ 'odd' is test }}"),
              "truetruetruetrue");
    EXPECT_NE(error_of("{{ 'x' is odd }}").find("odd"), std::string::npos);
    EXPECT_NE(error_of("{{ 1 is frobnicated }}").find("unknown test 'frobnicated'"), std::string::npos);
}

TEST(ChatLanguage, StringFilters) {
    EXPECT_EQ(
        render(
            "[{{ '  x y  ' | trim }}][{{ 'xxhixx' | trim('x') }}][{{ 'Ab' | upper }}][{{ 'Ab' | lower }}]"),
        "[x y][hi][AB][ab]");
    EXPECT_EQ(render("{{ 'hello wORLD-x' | title }}|{{ 'hELLO' | capitalize }}|{{ 'héllo' | length }}|{{ "
                     "'abc' | count }}"),
              "Hello World-X|Hello|5|3");
    EXPECT_EQ(render("{{ 'aXbXc' | replace('X', '-') }}|{{ 'aXbXc' | replace('X', '-', 1) }}|{{ 'ab' | "
                     "replace('', '.') }}"),
              "a-b-c|a-bXc|.a.b.");
    EXPECT_EQ(render("{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | "
                     "indent(1, blank=true) }}"),
              "a\n    b\n\n    c|  a\n  b|a\n \n b");
    EXPECT_EQ(render("{{ '<a href=\"x\">&\\'' | escape }}|{{ '<b>' | safe }}|{{ 'abc' | reverse }}"),
              "&lt;a href=&#34;x&#34;&gt;&amp;&#39;|<b>|cba");
    EXPECT_EQ(
        render("{{ 'one two  three' | wordcount }}|{{ 'ab' | center(6) }}|{{ '%s=%d' | format('x', 3) }}"),
        "3|  ab  |x=3");
    EXPECT_EQ(render("{{ 12 | string }}{{ none | string }}{{ true | string }}{{ [1] | string }}"),
              "12Nonetrue[1]");
}

TEST(ChatLanguage, NumberFilters) {
    EXPECT_EQ(render("{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} "
                     "{{ '0x1A' | int(0, 16) }}"),
              "42 4 0 7 3 26");
    EXPECT_EQ(render("{{ '2.5' | float }} {{ 3 | float }} {{ 'q' | float }} {{ -3 | abs }} {{ -2.5 | abs }}"),
              "2.5 3.0 0.0 3 2.5");
    EXPECT_EQ(render("{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.1 | round(0, 'ceil') "
                     "}} {{ 2.9 | round(method='floor') }}"),
              "2.0 4.0 2.67 3.0 2.0");
}

TEST(ChatLanguage, SequenceFilters) {
    const char* ctx = R"({"xs": [3, 1, 2], "ws": ["b", "A", "c"], "ms": [
        {"role": "user", "n": 2}, {"role": "assistant", "n": 1}, {"role": "user", "n": 3, "tag": "x"}]})";
    EXPECT_EQ(render("{{ xs | length }}{{ xs | first }}{{ xs | last }}{{ xs | join(',') }}{{ xs | join }}{{ "
                     "xs | sum }}",
                     ctx),
              "3323,1,23126");
    EXPECT_EQ(
        render(
            "{{ xs | sort }}{{ xs | sort(reverse=true) }}{{ ws | sort }}{{ ws | sort(case_sensitive=true) }}",
            ctx),
        R"([1, 2, 3][3, 2, 1]["A", "b", "c"]["A", "b", "c"])");
    EXPECT_EQ(render("{{ xs | max }}{{ xs | min }}{{ ws | max }}{{ [1, 1, 2, 1] | unique | list }}{{ ['a', "
                     "'A'] | unique }}",
                     ctx),
              R"(31c[1, 2]["a"])");
    EXPECT_EQ(render("{{ ms | map(attribute='role') | join(' ') }}|{{ ms | map(attribute='tag', default='-') "
                     "| join }}",
                     ctx),
              "user assistant user|--x");
    EXPECT_EQ(render("{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='n') | list }}"
                     "{{ ms | rejectattr('role', 'equalto', 'user') | map(attribute='n') | list }}"
                     "{{ ms | selectattr('tag') | map(attribute='n') | list }}"
                     "{{ ms | selectattr('tag', 'undefined') | map(attribute='n') | list }}",
                     ctx),
              "[2, 3][1][3][2, 1]");
    EXPECT_EQ(
        render(
            "{{ xs | select('odd') | list }}{{ xs | reject('odd') | list }}{{ [0, 1, ''] | select | list }}"
            "{{ xs | select('gt', 1) | list }}",
            ctx),
        "[3, 1][2][1][3, 2]");
    EXPECT_EQ(
        render("{{ ws | map('upper') | join }}{{ ms | sort(attribute='n') | map(attribute='n') | join }}",
               ctx),
        "BAC123");
    EXPECT_EQ(
        render("{{ 'abc' | list }}{{ xs | reverse | list }}{{ missing | length }}{{ missing | list }}", ctx),
        R"(["a", "b", "c"][2, 1, 3]0[])");
}

TEST(ChatLanguage, DictFilters) {
    const char* ctx = R"({"d": {"b": 2, "a": 1, "C": 3}})";
    EXPECT_EQ(render("{% for k, v in d | items %}{{ k }}={{ v }};{% endfor %}", ctx), "b=2;a=1;C=3;");
    EXPECT_EQ(render("{% for k, v in d | dictsort %}{{ k }}{% endfor %}|{% for k, v in d | dictsort(true) "
                     "%}{{ k }}{% endfor %}"
                     "|{% for k, v in d | dictsort(by='value', reverse=true) %}{{ k }}{% endfor %}",
                     ctx),
              "abC|Cab|Cba");
    EXPECT_EQ(render("{{ d | length }}{{ d | first }}{{ d | list }}", ctx), R"(3b["b", "a", "C"])");
}

TEST(ChatLanguage, DefaultFilter) {
    EXPECT_EQ(render("{{ missing | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ "
                     "none | d('x') }}|"
                     "{{ missing | default }}|{{ 0 | default(5, boolean=true) }}"),
              "d||d|||5");
}

TEST(ChatLanguage, ToJson) {
    EXPECT_EQ(render("{{ {'b': [1, 'x', none, true, 1.5], 'a': {}} | tojson }}"),
              R"({"b": [1, "x", null, true, 1.5], "a": {}})");
    EXPECT_EQ(render("{{ {'b': [1, {'c': 'x'}], 'a': {}, 'e': []} | tojson(indent=2) }}"),
              "{\n  \"b\": [\n    1,\n    {\n      \"c\": \"x\"\n    }\n  ],\n  \"a\": {},\n  \"e\": []\n}");
    EXPECT_EQ(render("{{ {'b': 1, 'a': [2]} | tojson(separators=(',', ':'), sort_keys=true) }}"),
              R"({"a":[2],"b":1})");
    EXPECT_EQ(render("{{ x | tojson }}|{{ x | tojson(ensure_ascii=true) }}", R"({"x": "é\"\\\n\u0001😀"})"),
              "\"é\\\"\\\\\\n\\u0001😀\"|\"\\u00e9\\\"\\\\\\n\\u0001\\ud83d\\ude00\"");
    EXPECT_EQ(render("{{ x | tojson }}", R"({"x": {"z": 1, "y": 2.0, "x": 10000000000000000}})"),
              R"({"z": 1, "y": 2.0, "x": 10000000000000000})");
    EXPECT_EQ(render("{{ missing | tojson }}{{ 'a' | tojson }}"), "null\"a\"");
}

TEST(ChatLanguage, StringMethods) {
    EXPECT_EQ(render("[{{ '  x  '.strip() }}][{{ '\\n\\nx\\n'.strip('\\n') }}][{{ 'xxay'.lstrip('x') }}][{{ "
                     "'ayyx'.rstrip('xy') }}]"
                     "[{{ ' a '.lstrip() }}][{{ ' a '.rstrip() }}][{{ ' a '.strip(none) }}]"),
              "[x][x][ay][a][a ][ a][a]");
    EXPECT_EQ(render("{{ 'a<b>c<b>'.split('<b>') }}{{ ' a  b '.split() }}{{ 'a,b,c'.split(',', 1) }}{{ ' a b "
                     "c'.split(none, 1) }}"),
              R"(["a", "c", ""]["a", "b"]["a", "b,c"]["a", "b c"])");
    EXPECT_EQ(render("{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('x') }}{{ 'abc'.startswith(('x', 'a')) }}"
                     "{{ 'abc'.endswith(['c']) }}"),
              "truefalsetruetrue");
    EXPECT_EQ(render("{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'hello wORLD'.title() }}{{ 'they\\'re'.title() "
                     "}}{{ 'hELLO'.capitalize() }}"),
              "ABabHello WorldThey'ReHello");
    EXPECT_EQ(
        render("{{ 'a-b-c'.replace('-', '+') }}{{ 'a-b-c'.replace('-', '', 1) }}{{ 'abcabc'.find('c') }}"
               "{{ 'abc'.find('z') }}{{ 'banana'.count('an') }}"),
        "a+b+cab-c2-12");
    EXPECT_EQ(render("{{ '{} and {}'.format('x', 1) }}|{{ '{1}{0}'.format('a', 'b') }}|{{ "
                     "'{n}!'.format(n='hi') }}|{{ '{{}}'.format() }}"),
              "x and 1|ba|hi!|{}");
    EXPECT_EQ(
        render(
            "{{ ', '.join(['a', 'b']) }}{{ '12'.isdigit() }}{{ 'a1'.isalnum() }}{{ 'a\\nb'.splitlines() }}"),
        R"(a, btruetrue["a", "b"])");
    EXPECT_EQ(render("{{ 'x.txt'.removesuffix('.txt') }}{{ 'x.txt'.removeprefix('x.') }}"), "xtxt");
}

TEST(ChatLanguage, DictAndListMethods) {
    const char* ctx = R"({"d": {"a": 1, "items": "shadow"}, "xs": [1, 2, 2]})";
    EXPECT_EQ(render("{{ d.get('a') }}{{ d.get('q') }}{{ d.get('q', 'dflt') }}{{ d.keys() | list }}{{ "
                     "d.values() | list }}",
                     ctx),
              R"(1dflt["a", "items"][1, "shadow"])");
    // A key named like a method is still reachable, and the method wins when called.
    EXPECT_EQ(
        render("{{ d.items | string }}|{{ d['items'] }}|{% for k, v in d.items() %}{{ k }}{% endfor %}", ctx),
        "shadow|shadow|aitems");
    EXPECT_EQ(render("{{ xs.count(2) }}{{ xs.index(2) }}{{ xs.length }}{{ 'abc'.length }}", ctx), "2133");
    EXPECT_NE(error_of("{{ xs.append(3) }}", ctx).find("'xs.append' is undefined"), std::string::npos);
}

TEST(ChatLanguage, IfElifElse) {
    EXPECT_EQ(render("{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif "
                     "%},{% endfor %}"),
              "one,two,many,");
    EXPECT_EQ(render("{% if [] %}a{% elif {} %}b{% elif '' %}c{% elif 0.0 %}d{% else %}e{% endif %}"), "e");
}

TEST(ChatLanguage, ForLoops) {
    EXPECT_EQ(
        render("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
               "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
               R"({"xs": ["a", "b"]})"),
        "1021truefalse2;2110falsetrue2;");
    EXPECT_EQ(render("{% for x in xs %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }} {% endfor %}",
                     R"({"xs": [1, 2, 3]})"),
              "-1-2 1-2-3 2-3- ");
    EXPECT_EQ(
        render(
            "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in [1] %}x{% else %}empty{% endfor %}"),
        "empty|x");
    EXPECT_EQ(render("{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ loop.index }}:{{ x }}{% if not loop.last "
                     "%},{% endif %}{% endfor %}"),
              "1:2,2:4");
    EXPECT_EQ(render("{% for k, v in d.items() if k != 'b' %}{{ k }}={{ v }};{% endfor %}",
                     R"({"d": {"a": 1, "b": 2, "c": 3}})"),
              "a=1;c=3;");
    EXPECT_EQ(render("{% for k in d %}{{ k }}{% endfor %}{% for c in 'hé' %}[{{ c }}]{% endfor %}{% for x in "
                     "missing %}x{% endfor %}",
                     R"({"d": {"a": 1, "b": 2}})"),
              "ab[h][é]");
    EXPECT_EQ(render("{% for n in [1, 2, 3, 4] %}{% if n == 2 %}{% continue %}{% endif %}{% if n == 4 %}{% "
                     "break %}{% endif %}"
                     "{{ n }}{% endfor %}"),
              "13");
    EXPECT_EQ(render("{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }} {% endfor %}{{ "
                     "loop.index }}|{% endfor %}"),
              "1x1 1y2 1|2x1 2y2 2|");
    EXPECT_EQ(render("{% for (a, b) in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}"), "37");
    EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "aba");
    EXPECT_NE(error_of("{% for a, b in [[1, 2, 3]] %}{% endfor %}").find("cannot unpack 3 values"),
              std::string::npos);
    EXPECT_NE(error_of("{% for x in 5 %}{% endfor %}").find("cannot loop over a integer"), std::string::npos);
}

TEST(ChatLanguage, ScopingFollowsJinja2) {
    // A set in a loop body lasts one iteration and never leaks out; a set in an if does.
    EXPECT_EQ(
        render(
            "{% set a = 1 %}{% for x in [1, 2] %}[{{ a }}]{% set a = x * 10 %}({{ a }}){% endfor %}{{ a }}"),
        "[1](10)[1](20)1");
    EXPECT_EQ(render("{% if true %}{% set b = 3 %}{% endif %}{{ b }}"), "3");
    // namespace() carries state out of loops.
    EXPECT_EQ(
        render("{% set ns = namespace(total=0, seen=false) %}{% for x in [1, 2, 3] %}{% set ns.total = "
               "ns.total + x %}"
               "{% if x == 2 %}{% set ns.seen = true %}{% endif %}{% endfor %}{{ ns.total }} {{ ns.seen }}"),
        "6 true");
    EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.a = 'x' %}{{ ns.a }}{{ ns.b }}{{ ns['a'] }}"),
              "xx");
    EXPECT_EQ(render("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}"), "12");
    EXPECT_NE(error_of("{% set d = {'a': 1} %}{% set d.a = 2 %}").find("only a namespace() can be assigned"),
              std::string::npos);
    EXPECT_NE(
        error_of("{% set n = namespace() %}{% set n.x = namespace() %}").find("namespace cannot be stored"),
        std::string::npos);
}

TEST(ChatLanguage, BlockSetAndFilterBlock) {
    EXPECT_EQ(render("{% set s %}a{{ 1 + 1 }}b{% endset %}[{{ s }}]"), "[a2b]");
    EXPECT_EQ(render("{% filter upper %}abc{{ 'd' }}{% endfilter %}"), "ABCD");
    EXPECT_EQ(render("{% filter replace('a', 'b') %}aaa{% endfilter %}"), "bbb");
}

TEST(ChatLanguage, Macros) {
    EXPECT_EQ(
        render(
            "{% macro f(x, y=2) %}{{ x }}-{{ y }}{% endmacro %}{{ f(1) }}|{{ f(1, 3) }}|{{ f(y=4, x=5) }}"),
        "1-2|1-3|5-4");
    EXPECT_EQ(render("{% macro g() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ g(1, 2, k='v') }}"),
              R"([1, 2]{"k": "v"})");
    EXPECT_EQ(render("{% macro d(a, b=a ~ '!') %}{{ b }}{% endmacro %}{{ d('x') }}"), "x!");
    // Macros see the scope they were defined in, not the caller's loop variables.
    EXPECT_EQ(
        render(
            "{% set y = 'top' %}{% macro m() %}{{ y }}{% endmacro %}{% for y in [5] %}{{ m() }}{% endfor %}"),
        "top");
    EXPECT_EQ(render("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}{% endif %}{% "
                     "endmacro %}{{ fact(5) }}"),
              "120");
    EXPECT_EQ(render("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}"
                     "{% call wrap('b') %}bold{% endcall %}"),
              "<b>bold</b>");
    EXPECT_EQ(render("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
                     "{% call(item) each([1, 2]) %}[{{ item }}]{% endcall %}"),
              "[1][2]");
    EXPECT_NE(error_of("{% macro f(a) %}{% endmacro %}{{ f(1, a=2) }}").find("two values for 'a'"),
              std::string::npos);
}

TEST(ChatLanguage, Globals) {
    EXPECT_EQ(render("{{ range(3) | list }}{{ range(1, 8, 3) | list }}{{ range(3, -1, -1) | list }}{{ "
                     "range(0, 3, -1) | list }}"),
              "[0, 1, 2][1, 4, 7][3, 2, 1, 0][]");
    EXPECT_EQ(render("{{ dict(a=1, b='x') | tojson }}"), R"({"a": 1, "b": "x"})");
    EXPECT_EQ(error_of("{{ raise_exception('Roles must alternate') }}"), "Roles must alternate");
    EXPECT_EQ(render("{{ strftime_now is defined }}{{ raise_exception is defined }}{{ range is defined }}{{ "
                     "namespace is defined }}"),
              "truetruetruetrue");
    // The context can override a global.
    EXPECT_EQ(render("{{ range }}", R"({"range": "mine"})"), "mine");
}

TEST(ChatLanguage, StrftimeNowReadsTheGivenClock) {
    setenv("TZ", "UTC", 1);
    tzset();
    kinglet::chat::RenderOptions o;
    o.now = std::chrono::system_clock::from_time_t(1721995200);  // 2024-07-26 12:00:00 UTC
    ChatTemplate t(
        "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y %H:%M') }}|{{ strftime_now('%Y-%m-%d %%') "
        "}}");
    EXPECT_EQ(t.render(ordered_json::object(), o), "26 Jul 2024|July 26, 2024 12:00|2024-07-26 %");
}

TEST(ChatLanguage, UndefinedValues) {
    EXPECT_EQ(render("[{{ x }}]{% if x %}t{% else %}f{% endif %}{{ x is defined }}{{ not x }}"),
              "[]ffalsetrue");
    // A missing key is undefined; an attribute of an undefined value is an error (Python's default
    // Undefined).
    EXPECT_EQ(
        render("{{ m.tool_calls is defined }}{{ m['nope'] is defined }}{{ m.content.content is defined }}",
               R"({"m": {"content": "s"}})"),
        "falsefalsefalse");
    EXPECT_NE(error_of("{{ m.a.b }}", R"({"m": {}})").find("'m.a' is undefined"), std::string::npos);
    EXPECT_NE(error_of("{{ nothing[0] }}").find("'nothing' is undefined"), std::string::npos);
    EXPECT_NE(error_of("{{ nothing() }}").find("'nothing' is undefined"), std::string::npos);
    EXPECT_EQ(render("{{ z.a }}", R"({"z": null})"), "");
}

TEST(ChatLanguage, SyntaxErrorsNameLineAndColumn) {
    auto syntax_error = [](const std::string& src) {
        try {
            ChatTemplate t(src);
        } catch (const kinglet::Error& e) {
            EXPECT_EQ(e.code(), kinglet::Errc::invalid_argument);
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_EQ(syntax_error("ab\n{% if x %}\nunclosed"),
              "chat template syntax error at line 3, column 9: missing {% endif %}");
    EXPECT_EQ(syntax_error("{{ 1 + }}"),
              "chat template syntax error at line 1, column 8: expected an expression but found '}}'");
    EXPECT_EQ(syntax_error("x\n  {% frobnicate %}"),
              "chat template syntax error at line 2, column 6: unknown statement 'frobnicate'");
    EXPECT_EQ(syntax_error("{{ 'abc }}"),
              "chat template syntax error at line 1, column 4: string literal is not closed");
    EXPECT_EQ(syntax_error("{# never closed"),
              "chat template syntax error at line 1, column 1: comment is not closed with #}");
    EXPECT_EQ(syntax_error("{{ a $ b }}"),
              "chat template syntax error at line 1, column 6: unexpected character '$'");
    EXPECT_EQ(syntax_error("{% for x in y %}{% endif %}"),
              "chat template syntax error at line 1, column 20: unexpected 'endif' where {% endfor %} was "
              "expected");
    EXPECT_EQ(syntax_error("a {% endif %}"),
              "chat template syntax error at line 1, column 6: unexpected 'endif' outside any block");
    EXPECT_EQ(
        syntax_error("{{ x"),
        "chat template syntax error at line 1, column 5: expected '}}' but found the end of the template");
    EXPECT_EQ(syntax_error("{{ x }"),
              "chat template syntax error at line 1, column 6: expected '}}' but found '}'");
    EXPECT_EQ(syntax_error("{{ x  "),
              "chat template syntax error at line 1, column 7: unexpected end of template inside a tag");
}

TEST(ChatLanguage, RuntimeErrorsNameLineAndColumn) {
    EXPECT_EQ(error_of("line one\n{{ 'a' | nosuchfilter }}"),
              "chat template error at line 2, column 4: unknown filter 'nosuchfilter'");
    EXPECT_EQ(error_of("{% for m in messages %}\n  {{ m.content.x.y }}\n{% endfor %}",
                       R"({"messages": [{"content": "s"}]})"),
              "chat template error at line 2, column 6: 'm.content.x' is undefined");
}

}  // namespace
