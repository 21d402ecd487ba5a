// /v1/embeddings, /tokenize and /detokenize.
#include <httplib.h>
#include <openssl/evp.h>

#include <cstring>

#include "server/api_error.h"
#include "server/connection.h"
#include "server/generation_job.h"
#include "server/http_server.h"
#include "tokenizer/unicode.h"

namespace kinglet::server {

using nlohmann::json;

namespace {

// OpenAI's base64 encoding: the float32 values' little-endian bytes.
std::string base64_floats(const std::vector<float>& v) {
    std::string raw(v.size() * sizeof(float), '\0');
    std::memcpy(raw.data(), v.data(), raw.size());  // x86-64 is little-endian
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(raw.data()), int(raw.size()));
    out.resize(size_t(n));
    return out;
}

const Tokenizer& require_tokenizer(const router::Provider& p, const std::string& model) {
    const Tokenizer* tok = p.tokenizer();
    if (!tok) throw ApiError(400, fmt::format("The model '{}' does not expose a tokenizer.", model), "model");
    return *tok;
}

}  // namespace

void HttpServer::handle_embeddings(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_json_body(req.body);
    EmbeddingRequest er = parse_embedding_request(body, opt_.limits);
    std::string model;
    auto provider = resolve(er.model, model);
    if (!provider->info().embeddings)
        throw ApiError(400, fmt::format("The model '{}' does not provide embeddings.", model), "model");
    in_flight_++;
    struct Release {
        std::atomic<int>& n;
        ~Release() { n--; }
    } release{in_flight_};
    auto job = std::make_shared<Job>(er.inputs.size());
    const auto dl = deadline();
    try {
        for (size_t i = 0; i < er.inputs.size(); ++i) {
            router::GenerationRequest g = to_embedding(er, i);
            g.deadline = dl;
            g.caller = caller(req);
            job->add(provider->start(std::move(g), job->callbacks(int(i), false)));
        }
    } catch (...) {
        job->cancel();
        job->abandon_unstarted();
        throw;
    }
    ConnectionWatch watch(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
    job->wait_all([&] { return !watch.closed(); }, std::chrono::milliseconds(100));
    if (job->cancelled()) {
        metrics_.count_cancel(model, "disconnect");
        res.status = 499;
        return;
    }
    nlohmann::ordered_json data = nlohmann::ordered_json::array();
    int prompt_tokens = 0;
    for (size_t i = 0; i < er.inputs.size(); ++i) {
        auto& r = *job->results()[i];
        if (r.finish == router::Finish::timeout) throw ApiError(504, "The request timed out.", {}, "timeout");
        if (r.finish == router::Finish::cancelled)
            throw ApiError(503, r.error.empty() ? "The request was cancelled." : r.error, {}, "cancelled");
        if (r.finish != router::Finish::stop || r.embedding.empty())
            throw ApiError(500, r.error.empty() ? "the embedding failed" : r.error, {}, "internal_error");
        if (er.dimensions && *er.dimensions != int(r.embedding.size()))
            bad_param("dimensions", "This model's embeddings have {} dimensions; shortening them is not supported.",
                      r.embedding.size());
        prompt_tokens += r.prompt_tokens;
        nlohmann::ordered_json item = {{"object", "embedding"}, {"index", i}};
        if (er.base64) item["embedding"] = base64_floats(r.embedding);
        else item["embedding"] = r.embedding;
        data.push_back(std::move(item));
    }
    metrics_.add_tokens(model, prompt_tokens, 0, 0);
    nlohmann::ordered_json out = {{"object", "list"},
                {"data", std::move(data)},
                {"model", model},
                {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
    res.set_content(dump_json(out), "application/json");
}

void HttpServer::handle_tokenize(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_json_body(req.body);
    TokenizeRequest tr = parse_tokenize_request(body);
    std::string model;
    auto provider = resolve(tr.model, model);
    const Tokenizer& tok = require_tokenizer(*provider, model);
    std::vector<int32_t> ids;
    if (tr.chat) {
        router::GenerationRequest g;
        g.kind = router::GenerationRequest::Kind::chat;
        g.messages = tr.messages;
        ids = provider->prompt_tokens(g);
    } else {
        ids = tok.encode(tr.prompt, tr.add_special, /*parse_special=*/true);
    }
    json out = {{"tokens", ids}, {"count", ids.size()}, {"max_model_len", provider->info().context_length}};
    if (tr.with_pieces) {
        json pieces = json::array();
        for (int32_t id : ids) pieces.push_back(unicode::sanitize_utf8(tok.token_to_piece(id)));
        out["pieces"] = std::move(pieces);
    }
    res.set_content(dump_json(out), "application/json");
}

void HttpServer::handle_detokenize(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_json_body(req.body);
    DetokenizeRequest dr = parse_detokenize_request(body);
    std::string model;
    auto provider = resolve(dr.model, model);
    const Tokenizer& tok = require_tokenizer(*provider, model);
    for (size_t i = 0; i < dr.tokens.size(); ++i)
        if (dr.tokens[i] >= tok.n_vocab())
            bad_param(fmt::format("tokens[{}]", i), "Token id {} is outside this model's vocabulary (0..{}).", dr.tokens[i],
                      tok.n_vocab() - 1);
    const std::string text = unicode::sanitize_utf8(tok.decode(dr.tokens));
    res.set_content(dump_json(json{{"prompt", text}}), "application/json");
}

}  // namespace kinglet::server
