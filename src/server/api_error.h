// Errors as the OpenAI API reports them: an HTTP status and
// {"error": {"message", "type", "param", "code"}}. Handlers throw ApiError; a kinglet::Error from a
// lower layer is mapped by its code (invalid_argument -> 400, not_found -> 404, overloaded -> 429, ...).
#pragma once
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace kinglet::server {

class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string message, std::string param = {}, std::string code = {}, std::string type = {})
        : std::runtime_error(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)),
          type_(type.empty() ? default_type(status_) : std::move(type)) {}

    int status() const { return status_; }
    const std::string& param() const { return param_; }  // "" -> null
    const std::string& code() const { return code_; }    // "" -> null
    const std::string& type() const { return type_; }
    // Seconds a client should wait before retrying (429, 503); 0 = no Retry-After header.
    int retry_after() const { return retry_after_; }
    ApiError& with_retry_after(int seconds) {
        retry_after_ = seconds;
        return *this;
    }

    nlohmann::ordered_json body() const;
    static std::string default_type(int status);

private:
    int status_;
    std::string param_, code_, type_;
    int retry_after_ = 0;
};

// 400 naming the request field at fault.
template <typename... Args>
[[noreturn]] void bad_param(const std::string& param, fmt::format_string<Args...> f, Args&&... args) {
    throw ApiError(400, fmt::format(f, std::forward<Args>(args)...), param);
}

// The API error for a kinglet::Error from the layers below.
ApiError to_api_error(const Error& e);

}  // namespace kinglet::server
