// Writing a calibrated threshold back into a kinglet config file in place: the route's first cascade
// step gets the new `min_confidence`, and the rest of the file — its comments, order and layout — is
// left untouched (a YAML emitter would rewrite all of it). Reading the file is the server's job
// (server/config.h, eval/config_targets.h); this only locates the one value with yaml-cpp's marks.
#pragma once
#include <string>

namespace kinglet::eval {

// Writes `threshold` (every digit: it reads back as the same double) as route `route`'s first-step
// min_confidence in `path`: the value is replaced where
// it stands, or `min_confidence` is added to the step when it has none (flow `{ ... }` or block style).
// Throws Error(not_found) for a missing file, Error(invalid_file) for a route that is missing or has no
// steps, Error(io) when the file cannot be written; the value is read back after writing.
void write_cascade_threshold(const std::string& path, const std::string& route, double threshold);

}  // namespace kinglet::eval
