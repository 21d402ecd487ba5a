#include "router/remote_provider.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <system_error>
#include <ctime>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "router/sse_parser.h"

namespace kinglet::router {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxErrorBody = 64 << 10;
constexpr int kLockSlots = 8;

void share_lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<std::mutex*>(user)[int(data) % kLockSlots].lock();
}
void share_unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<std::mutex*>(user)[int(data) % kLockSlots].unlock();
}

void global_init() {
    static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
    if (!done) fail(Errc::internal, "libcurl failed to initialise");
}

std::string bytes_of(const json& j) {
    std::string out;
    if (!j.is_array()) return out;
    for (const auto& b : j)
        if (b.is_number_integer()) out += char(uint8_t(b.get<int>()));
    return out;
}

TokenText token_text(const json& j) {
    TokenText t;
    if (j.contains("token") && j["token"].is_string()) t.token = j["token"].get<std::string>();
    t.bytes = j.contains("bytes") ? bytes_of(j["bytes"]) : t.token;
    if (t.bytes.empty()) t.bytes = t.token;
    if (j.contains("logprob") && j["logprob"].is_number()) t.logprob = j["logprob"].get<float>();
    return t;
}

// Chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}, ...]}
void chat_logprobs(const json& lp, std::vector<TokenLogprob>& out) {
    if (!lp.is_object() || !lp.contains("content") || !lp["content"].is_array()) return;
    for (const auto& e : lp["content"]) {
        if (!e.is_object()) continue;
        TokenLogprob t;
        static_cast<TokenText&>(t) = token_text(e);
        if (e.contains("top_logprobs") && e["top_logprobs"].is_array())
            for (const auto& x : e["top_logprobs"])
                if (x.is_object()) t.top.push_back(token_text(x));
        out.push_back(std::move(t));
    }
}

// Completions logprobs: parallel arrays {"tokens", "token_logprobs", "top_logprobs": [{tok: lp}]}.
void text_logprobs(const json& lp, std::vector<TokenLogprob>& out) {
    if (!lp.is_object() || !lp.contains("tokens") || !lp["tokens"].is_array()) return;
    const json& toks = lp["tokens"];
    const json* lps = lp.contains("token_logprobs") && lp["token_logprobs"].is_array() ? &lp["token_logprobs"] : nullptr;
    const json* tops = lp.contains("top_logprobs") && lp["top_logprobs"].is_array() ? &lp["top_logprobs"] : nullptr;
    for (size_t i = 0; i < toks.size(); ++i) {
        TokenLogprob t;
        if (toks[i].is_string()) t.token = t.bytes = toks[i].get<std::string>();
        if (lps && i < lps->size() && (*lps)[i].is_number()) t.logprob = (*lps)[i].get<float>();
        if (tops && i < tops->size() && (*tops)[i].is_object())
            for (const auto& [k, v] : (*tops)[i].items()) {
                TokenText x;
                x.token = x.bytes = k;
                if (v.is_number()) x.logprob = v.get<float>();
                t.top.push_back(std::move(x));
            }
        out.push_back(std::move(t));
    }
}

std::string remote_message(const std::string& body) {
    json j = json::parse(body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("error")) {
        const json& e = j["error"];
        if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
        if (e.is_string()) return e.get<std::string>();
    }
    std::string s = body.substr(0, 300);
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

}  // namespace

struct RemoteProvider::Call {
    GenerationRequest req;
    GenerationCallbacks cb;
    bool chat = true;
    std::string url, body;
    std::atomic<bool> cancelled{false};
    bool delivered = false;  // a delta went to the caller: no retry from here on
    Clock::time_point t0;
    bool first_token = true;
    // Inline calls (run on the caller's thread): the caller's keep_going, polled at most this often.
    std::function<bool()> keep_going;
    Clock::time_point next_poll;
    static constexpr auto kPollEvery = std::chrono::milliseconds(100);

    // Whether the call should end now: cancelled, or (inline) the caller says to stop.
    bool stop_requested() {
        if (cancelled.load()) return true;
        if (!keep_going) return false;
        const auto now = Clock::now();
        if (now < next_poll) return false;
        next_poll = now + kPollEvery;
        if (keep_going()) return false;
        cancelled = true;
        return true;
    }

    // Per attempt.
    CURL* handle = nullptr;
    long status = 0;
    std::string error_body, retry_after, stream_error;
    SseParser parser;
    bool saw_done = false, saw_finish = false, saw_usage = false;
    GenerationResult result;
    int chunks = 0;

    void reset_attempt() {
        status = 0;
        error_body.clear();
        retry_after.clear();
        stream_error.clear();
        parser = SseParser();
        saw_done = saw_finish = saw_usage = false;
        result = GenerationResult{};
        chunks = 0;
    }

    bool on_event(std::string_view data) {
        if (data == "[DONE]") {
            saw_done = true;
            return true;
        }
        json j = json::parse(data, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            stream_error = "the remote sent an event that is not a JSON object";
            return false;
        }
        if (j.contains("error") && !j["error"].is_null()) {
            stream_error = "the remote reported an error mid-stream: " + remote_message(std::string(data));
            return false;
        }
        if (j.contains("usage") && j["usage"].is_object()) {
            const json& u = j["usage"];
            if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer()) result.prompt_tokens = u["prompt_tokens"].get<int>();
            if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
                result.completion_tokens = u["completion_tokens"].get<int>();
            if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object() &&
                u["prompt_tokens_details"].contains("cached_tokens") && u["prompt_tokens_details"]["cached_tokens"].is_number_integer())
                result.cached_prompt_tokens = u["prompt_tokens_details"]["cached_tokens"].get<int>();
            saw_usage = true;
        }
        if (!j.contains("choices") || !j["choices"].is_array()) return true;
        for (const auto& c : j["choices"]) {
            if (!c.is_object()) continue;
            if (c.contains("index") && c["index"].is_number_integer() && c["index"].get<int>() != 0) continue;
            GenerationDelta d;
            if (chat) {
                if (c.contains("delta") && c["delta"].is_object() && c["delta"].contains("content") &&
                    c["delta"]["content"].is_string())
                    d.text = c["delta"]["content"].get<std::string>();
                if (c.contains("logprobs")) chat_logprobs(c["logprobs"], d.logprobs);
            } else {
                if (c.contains("text") && c["text"].is_string()) d.text = c["text"].get<std::string>();
                if (c.contains("logprobs")) text_logprobs(c["logprobs"], d.logprobs);
            }
            if (c.contains("finish_reason") && c["finish_reason"].is_string()) {
                saw_finish = true;
                result.finish = c["finish_reason"].get<std::string>() == "length" ? Finish::length : Finish::stop;
            }
            if (d.text.empty() && d.logprobs.empty()) continue;
            chunks++;
            if (first_token) {
                first_token = false;
                result.ttft_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
            }
            result.text += d.text;
            if (req.logprobs >= 0) result.logprobs.insert(result.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
            if (cb.on_delta) {
                delivered = true;
                if (req.logprobs < 0) d.logprobs.clear();
                if (!cb.on_delta(std::move(d))) {
                    cancelled = true;
                    return false;
                }
            }
        }
        return true;
    }
};

namespace {

size_t on_write(char* p, size_t size, size_t n, void* user) {
    auto* c = static_cast<RemoteProvider::Call*>(user);
    const size_t len = size * n;
    if (c->status == 0) curl_easy_getinfo(c->handle, CURLINFO_RESPONSE_CODE, &c->status);
    if (c->status != 200) {
        if (c->error_body.size() < kMaxErrorBody) c->error_body.append(p, std::min(len, kMaxErrorBody - c->error_body.size()));
        return len;
    }
    const bool ok = c->parser.feed(std::string_view(p, len), [c](std::string_view d) { return c->on_event(d); });
    if (!ok && c->stream_error.empty() && !c->cancelled) c->stream_error = "the remote sent an oversized event";
    return ok ? len : 0;
}

size_t on_header(char* p, size_t size, size_t n, void* user) {
    auto* c = static_cast<RemoteProvider::Call*>(user);
    const size_t len = size * n;
    std::string_view h(p, len);
    constexpr std::string_view key = "retry-after:";
    if (h.size() > key.size()) {
        bool match = true;
        for (size_t i = 0; i < key.size() && match; ++i) match = char(std::tolower(uint8_t(h[i]))) == key[i];
        if (match) {
            std::string v(h.substr(key.size()));
            while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
            c->retry_after = v;
        }
    }
    return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<RemoteProvider::Call*>(user)->stop_requested() ? 1 : 0;
}

}  // namespace

RemoteProvider::RemoteProvider(RemoteOptions opt) : opt_(std::move(opt)) {
    global_init();
    if (opt_.base_url.rfind("http://", 0) != 0 && opt_.base_url.rfind("https://", 0) != 0)
        fail(Errc::invalid_argument, "provider '{}': base_url '{}' must start with http:// or https://", opt_.name, opt_.base_url);
    while (!opt_.base_url.empty() && opt_.base_url.back() == '/') opt_.base_url.pop_back();
    share_locks_ = std::make_unique<std::mutex[]>(kLockSlots);
    CURLSH* sh = curl_share_init();
    curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(sh, CURLSHOPT_USERDATA, share_locks_.get());
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    share_ = sh;
    created_ = int64_t(std::time(nullptr));
}

RemoteProvider::~RemoteProvider() {
    // Running calls hold a reference to this provider, so none is left here.
    for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
    curl_share_cleanup(static_cast<CURLSH*>(share_));
}

ProviderInfo RemoteProvider::info() const {
    ProviderInfo i;
    i.kind = "remote";
    i.owned_by = "remote";
    i.created = created_;
    i.context_length = opt_.context_length;
    i.chat_template = "remote";
    return i;
}

void* RemoteProvider::acquire() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!pool_.empty()) {
            void* h = pool_.back();
            pool_.pop_back();
            return h;
        }
    }
    CURL* h = curl_easy_init();
    if (!h) fail(Errc::internal, "libcurl could not create a handle");
    return h;
}

void RemoteProvider::release(void* h) {
    curl_easy_reset(static_cast<CURL*>(h));  // keeps the connection; options are set afresh per call
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(h);
}

std::string RemoteProvider::request_body(const GenerationRequest& req) const {
    json b = {{"model", opt_.model}, {"stream", true}, {"stream_options", {{"include_usage", true}}}};
    if (req.kind == GenerationRequest::Kind::chat) {
        json msgs = json::array();
        for (const auto& m : req.messages) {
            json o = {{"role", m.role}, {"content", m.content}};
            for (const auto& [k, v] : m.extra.items()) o[k] = json::parse(v.dump());
            msgs.push_back(std::move(o));
        }
        b["messages"] = std::move(msgs);
        if (req.logprobs >= 0) {
            b["logprobs"] = true;
            if (req.logprobs > 0) b["top_logprobs"] = req.logprobs;
        }
    } else {
        b["prompt"] = req.prompt;
        if (req.logprobs >= 0) b["logprobs"] = req.logprobs;
    }
    if (req.max_tokens) b["max_tokens"] = *req.max_tokens;
    else if (req.default_max_tokens > 0) b["max_tokens"] = req.default_max_tokens;
    b["temperature"] = req.temperature;
    if (req.top_p != 1.0f) b["top_p"] = req.top_p;
    if (req.top_k > 0) b["top_k"] = req.top_k;
    if (req.min_p > 0) b["min_p"] = req.min_p;
    if (req.presence_penalty != 0) b["presence_penalty"] = req.presence_penalty;
    if (req.frequency_penalty != 0) b["frequency_penalty"] = req.frequency_penalty;
    if (req.seed) b["seed"] = *req.seed;
    if (!req.stop.empty()) b["stop"] = req.stop;
    if (!req.response_format.empty()) b["response_format"] = json::parse(req.response_format);
    else if (req.json_object) b["response_format"] = {{"type", "json_object"}};
    return b.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

class RemoteGeneration final : public Generation {
public:
    explicit RemoteGeneration(std::shared_ptr<RemoteProvider::Call> c) : c_(std::move(c)) {}
    void cancel() override { c_->cancelled = true; }

private:
    std::shared_ptr<RemoteProvider::Call> c_;
};

}  // namespace

std::unique_ptr<Generation> RemoteProvider::start(GenerationRequest req, GenerationCallbacks cb) {
    if (req.kind == GenerationRequest::Kind::embedding)
        fail(Errc::unsupported, "'{}' is a remote provider: embeddings are not forwarded", opt_.name);
    if (!req.prompt_tokens.empty())
        fail(Errc::unsupported, "'{}' is a remote provider: give the prompt as text, not token ids", opt_.name);
    if (!req.logit_bias.empty())
        fail(Errc::unsupported, "'{}' is a remote provider: logit_bias token ids do not apply to its vocabulary", opt_.name);
    auto call = std::make_shared<Call>();
    call->chat = req.kind == GenerationRequest::Kind::chat;
    call->url = opt_.base_url + (call->chat ? "/chat/completions" : "/completions");
    call->body = request_body(req);
    call->req = std::move(req);
    call->cb = std::move(cb);
    call->t0 = Clock::now();
    const bool run_here = call->cb.may_run_inline();
    if (run_here) {
        call->keep_going = std::move(call->cb.keep_going);
        call->next_poll = call->t0 + Call::kPollEvery;
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) fail(Errc::overloaded, "'{}' is shutting down", opt_.name);
        running_++;
        std::erase_if(calls_, [](const std::weak_ptr<Call>& w) { return w.expired(); });
        calls_.push_back(call);
    }
    if (run_here) {
        // The caller waits for the answer anyway: no worker, no hand-off (GenerationCallbacks::inline_thread).
        run(call);
        return std::make_unique<RemoteGeneration>(call);
    }
    try {
        workers_.post([self = shared_from_this(), call] { self->run(call); });
    } catch (const std::system_error& e) {
        std::lock_guard<std::mutex> lock(mu_);
        running_--;
        idle_.notify_all();
        fail(Errc::overloaded, "'{}': cannot start a thread for the call ({})", opt_.name, e.what());
    }
    return std::make_unique<RemoteGeneration>(call);
}

void RemoteProvider::shutdown(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    if (!idle_.wait_until(lock, deadline, [&] { return running_ == 0; })) {
        for (auto& w : calls_)
            if (auto c = w.lock()) c->cancelled = true;
        idle_.wait_for(lock, std::chrono::seconds(5), [&] { return running_ == 0; });
    }
}

void RemoteProvider::run(std::shared_ptr<Call> c) {
    std::optional<std::mt19937_64> rng;  // retry jitter; seeded only when a retry happens
    GenerationResult out;
    for (int attempt = 0;; ++attempt) {
        c->reset_attempt();
        const auto now = Clock::now();
        double budget_s = opt_.timeout_s;
        if (c->req.deadline != Clock::time_point::max())
            budget_s = std::min(budget_s, std::chrono::duration<double>(c->req.deadline - now).count());
        bool retryable = false;
        double retry_after_s = -1;
        if (budget_s <= 0) {
            out = GenerationResult{};
            out.finish = Finish::timeout;
            out.error = fmt::format("'{}': the request's time ran out", opt_.name);
        } else {
            auto* h = static_cast<CURL*>(acquire());
            c->handle = h;
            curl_slist* headers = nullptr;
            headers = curl_slist_append(headers, "Content-Type: application/json");
            headers = curl_slist_append(headers, "Accept: text/event-stream");
            const std::string auth = "Authorization: Bearer " + opt_.api_key;
            if (!opt_.api_key.empty()) headers = curl_slist_append(headers, auth.c_str());
            char errbuf[CURL_ERROR_SIZE] = {0};
            curl_easy_setopt(h, CURLOPT_URL, c->url.c_str());
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body.c_str());
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(c->body.size()));
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
            curl_easy_setopt(h, CURLOPT_WRITEDATA, c.get());
            curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
            curl_easy_setopt(h, CURLOPT_HEADERDATA, c.get());
            curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
            curl_easy_setopt(h, CURLOPT_XFERINFODATA, c.get());
            curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, long(std::max(1.0, budget_s * 1000)));
            curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, long(std::max(1.0, std::min(budget_s, opt_.connect_timeout_s) * 1000)));
            curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
            curl_easy_setopt(h, CURLOPT_SHARE, static_cast<CURLSH*>(share_));
            curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
            curl_easy_setopt(h, CURLOPT_USERAGENT, "kinglet");
            const CURLcode rc = curl_easy_perform(h);
            if (c->status == 0) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
            curl_slist_free_all(headers);
            release(h);
            c->handle = nullptr;

            if (!c->cancelled && rc == CURLE_OK && c->status == 200)
                c->parser.finish([&](std::string_view d) { return c->on_event(d); });
            out = std::move(c->result);
            if (c->cancelled) {
                out.finish = Finish::cancelled;
            } else if (rc == CURLE_OK && c->status == 200) {
                if (!c->stream_error.empty()) {
                    out.finish = Finish::error;
                    out.error = fmt::format("'{}': {}", opt_.name, c->stream_error);
                    out.http_status = 502;
                } else if (!c->saw_finish && !c->saw_done) {
                    out.finish = Finish::error;
                    out.error = fmt::format("'{}': the stream ended before the answer was complete", opt_.name);
                    out.http_status = 502;
                    retryable = true;
                } else if (!c->saw_usage) {
                    // A remote without usage reports: count what was streamed.
                    out.completion_tokens = out.logprobs.empty() ? c->chunks : int(out.logprobs.size());
                }
            } else if (rc == CURLE_WRITE_ERROR && !c->stream_error.empty()) {
                out.finish = Finish::error;
                out.error = fmt::format("'{}': {}", opt_.name, c->stream_error);
                out.http_status = 502;
            } else if (rc == CURLE_OPERATION_TIMEDOUT) {
                out.finish = Finish::timeout;
                out.error = fmt::format("'{}' did not answer within {:.3g} s", opt_.name, budget_s);
                out.http_status = 504;
                retryable = true;
            } else if (rc != CURLE_OK) {
                out.finish = Finish::error;
                out.error_code = Errc::io;
                out.error = fmt::format("'{}' at {}: {}", opt_.name, c->url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
                out.http_status = 502;
                retryable = true;
            } else {
                out.finish = Finish::error;
                out.error_code = Errc::io;
                out.error = fmt::format("'{}' answered HTTP {}: {}", opt_.name, c->status, remote_message(c->error_body));
                const long st = c->status;
                out.http_status = (st == 400 || st == 404 || st == 413 || st == 422) ? int(st) : 502;
                if (st == 400 || st == 422) out.error_code = Errc::invalid_argument;
                retryable = st == 429 || st >= 500;
                if (!c->retry_after.empty()) {
                    char* end = nullptr;
                    const double v = std::strtod(c->retry_after.c_str(), &end);
                    if (end && *end == 0 && v >= 0) retry_after_s = v;
                }
            }
        }
        if (!retryable || c->delivered || c->cancelled || attempt >= opt_.max_retries) break;
        double delay = std::min(opt_.retry_max_s, opt_.retry_base_s * std::pow(2.0, attempt));
        if (!rng) rng.emplace(std::random_device{}());
        delay *= std::uniform_real_distribution<double>(0.5, 1.0)(*rng);
        if (retry_after_s >= 0) delay = std::min(opt_.retry_max_s, retry_after_s);
        const auto wake = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay));
        if (wake >= c->req.deadline) break;
        log::warn("{} (attempt {} of {}), retrying in {:.2f} s", out.error, attempt + 1, opt_.max_retries + 1, delay);
        while (Clock::now() < wake && !c->stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (c->cancelled) {
            out.finish = Finish::cancelled;
            break;
        }
    }
    out.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - c->t0).count();
    if (out.ttft_ms == 0 && out.finish != Finish::error) out.ttft_ms = out.total_ms;
    if (c->cb.on_done) c->cb.on_done(std::move(out));
    std::lock_guard<std::mutex> lock(mu_);
    running_--;
    idle_.notify_all();
}

}  // namespace kinglet::router
