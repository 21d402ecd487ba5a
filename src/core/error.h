// Errors a user can cause (bad file, bad request, bad config) are thrown as kinglet::Error with one
// message that names the input and what is wrong. The code lets outer layers (CLI exit status, HTTP
// status) react without parsing the message.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace kinglet {

enum class Errc {
    invalid_argument,  // a flag, field or value is wrong
    invalid_file,      // a file exists but its contents are malformed
    unsupported,       // well-formed, but kinglet cannot do it (unknown type, architecture, ...)
    not_found,         // a file, model or name that does not exist
    io,                // the operating system refused (open, read, mmap, socket)
    overloaded,        // a bounded queue or budget is full
    internal,          // a bug in kinglet
};

const char* errc_name(Errc c);

class Error : public std::runtime_error {
public:
    Error(Errc code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
    Errc code() const { return code_; }

private:
    Errc code_;
};

template <typename... Args>
[[noreturn]] void fail(Errc code, fmt::format_string<Args...> f, Args&&... args) {
    throw Error(code, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace kinglet
