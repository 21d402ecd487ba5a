#include "server/api_error.h"

namespace kinglet::server {

std::string ApiError::default_type(int status) {
    switch (status) {
        case 401: return "authentication_error";
        case 403: return "permission_error";
        case 429: return "rate_limit_error";
        case 500: return "server_error";
        case 503: return "overloaded_error";
        case 504: return "timeout_error";
        default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

nlohmann::ordered_json ApiError::body() const {
    using json = nlohmann::ordered_json;
    json e = {
        {"message", what()},
        {"type", type_},
        {"param", param_.empty() ? json(nullptr) : json(param_)},
        {"code", code_.empty() ? json(nullptr) : json(code_)},
    };
    return {{"error", std::move(e)}};
}

ApiError to_api_error(const Error& e) {
    switch (e.code()) {
        case Errc::invalid_argument: return ApiError(400, e.what());
        case Errc::unsupported: return ApiError(400, e.what(), {}, "unsupported");
        case Errc::not_found: return ApiError(404, e.what(), {}, "not_found");
        case Errc::overloaded: return ApiError(429, e.what(), {}, "overloaded").with_retry_after(1);
        case Errc::invalid_file:
        case Errc::io:
        case Errc::internal: return ApiError(500, e.what(), {}, "internal_error");
    }
    return ApiError(500, e.what());
}

}  // namespace kinglet::server
