// Fuzzes OpenAI request parsing: the first byte picks the endpoint, the rest is the HTTP body. Any
// input must end in a parsed request (translated into provider requests and echoed through the
// response builders) or an ApiError with a 4xx status -- never a crash, a hang or another exception.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/openai_response.h"

using namespace kinglet::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const int endpoint = data[0] % 5;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    RequestLimits limits;
    try {
        const nlohmann::json j = parse_json_body(body);
        switch (endpoint) {
            case 0: {
                auto r = parse_chat_request(j, limits);
                for (int i = 0; i < r.sampling.n; ++i) (void)to_generation(r, i);
                break;
            }
            case 1: {
                auto r = parse_completion_request(j, limits);
                for (size_t p = 0; p < r.prompts.size(); ++p) (void)to_generation(r, p, 0);
                break;
            }
            case 2: {
                auto r = parse_embedding_request(j, limits);
                for (size_t i = 0; i < r.inputs.size(); ++i) (void)to_embedding(r, i);
                break;
            }
            case 3: (void)parse_tokenize_request(j); break;
            case 4: (void)parse_detokenize_request(j); break;
        }
    } catch (const ApiError& e) {
        if (e.status() < 400 || e.status() >= 500) std::abort();
        (void)e.body().dump();  // messages must be valid UTF-8: dump() throws otherwise
    }
    return 0;
}
