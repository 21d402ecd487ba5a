#include "core/error.h"

namespace kinglet {

const char* errc_name(Errc c) {
    switch (c) {
        case Errc::invalid_argument: return "invalid_argument";
        case Errc::invalid_file: return "invalid_file";
        case Errc::unsupported: return "unsupported";
        case Errc::not_found: return "not_found";
        case Errc::io: return "io";
        case Errc::overloaded: return "overloaded";
        case Errc::internal: return "internal";
    }
    return "unknown";
}

}  // namespace kinglet
