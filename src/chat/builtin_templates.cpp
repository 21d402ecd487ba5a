// Fallback chat templates for model files that carry none. Each renders the prompt format its model
// family was trained on; they are written for kinglet, in the same dialect as embedded templates.
#include <array>

#include "chat/template.h"

namespace kinglet::chat {

namespace {

struct Builtin {
    std::string_view name;
    std::string_view source;
};

constexpr std::array<Builtin, 9> kBuiltins = {{
    {"chatml", R"({%- for message in messages -%}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%})"},
    {"llama3", R"({{- bos_token -}}
{%- for message in messages -%}
{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\n\n' + message.content | trim + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%})"},
    {"llama2", R"({%- if messages and messages[0].role == 'system' -%}
{%- set system = '<<SYS>>\n' + messages[0].content + '\n<</SYS>>\n\n' -%}{%- set turns = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}
{%- for message in turns -%}
{%- set text = ((system if loop.first else '') + message.content) | trim -%}
{%- if message.role == 'user' -%}{{- bos_token + '[INST] ' + text + ' [/INST]' -}}
{%- elif message.role == 'assistant' -%}{{- ' ' + text + ' ' + eos_token -}}
{%- endif -%}
{%- endfor -%})"},
    {"mistral", R"({{- bos_token -}}
{%- if messages and messages[0].role == 'system' -%}
{%- set system = messages[0].content + '\n\n' -%}{%- set turns = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}
{%- for message in turns -%}
{%- if message.role == 'user' -%}
{{- ' [INST] ' + (system if loop.first else '') + message.content + ' [/INST]' -}}
{%- elif message.role == 'assistant' -%}
{{- ' ' + message.content + eos_token -}}
{%- endif -%}
{%- endfor -%})"},
    {"gemma", R"({{- bos_token -}}
{%- if messages and messages[0].role == 'system' -%}
{%- set system = messages[0].content + '\n\n' -%}{%- set turns = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}
{%- for message in turns -%}
{%- set role = 'model' if message.role == 'assistant' else message.role -%}
{{- '<start_of_turn>' + role + '\n' + (system if loop.first else '') + message.content | trim + '<end_of_turn>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%})"},
    {"phi3", R"({%- for message in messages -%}
{{- '<|' + message.role + '|>\n' + message.content + '<|end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|assistant|>\n' -}}{%- else -%}{{- eos_token -}}{%- endif -%})"},
    {"zephyr", R"({%- for message in messages -%}
{{- '<|' + message.role + '|>\n' + message.content + eos_token + '\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|assistant|>\n' -}}{%- endif -%})"},
    {"granite", R"({%- for message in messages -%}
{{- '<|start_of_role|>' + message.role + '<|end_of_role|>' + message.content + '<|end_of_text|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_of_role|>assistant<|end_of_role|>' -}}{%- endif -%})"},
    {"deepseek-r1", R"({%- set ns = namespace(system='') -%}
{%- for message in messages if message.role == 'system' -%}{%- set ns.system = message.content -%}{%- endfor -%}
{{- bos_token + ns.system -}}
{%- for message in messages -%}
{%- if message.role == 'user' -%}{{- '<｜User｜>' + message.content -}}
{%- elif message.role == 'assistant' -%}
{{- '<｜Assistant｜>' + message.content.split('</think>')[-1] + '<｜end▁of▁sentence｜>' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<｜Assistant｜><think>\n' -}}{%- endif -%})"},
}};

}  // namespace

std::optional<std::string> builtin_template(std::string_view name) {
    for (const auto& b : kBuiltins)
        if (b.name == name) return std::string(b.source);
    return std::nullopt;
}

std::vector<std::string> builtin_template_names() {
    std::vector<std::string> names;
    for (const auto& b : kBuiltins) names.emplace_back(b.name);
    return names;
}

}  // namespace kinglet::chat
