// Strict reading of YAML configuration with yaml-cpp: every mapping is read through a YamlMap that
// records which keys the reader asked for, so a key nobody asked for (a typo, a misplaced option) is an
// error naming the file, line, column and the keys that are allowed there. Values are type- and
// range-checked with the same kind of message. New config sections reuse this class.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace kinglet::server {

class YamlMap {
public:
    // `where` is the dotted path of this mapping ("" for the document root, "models.small", ...);
    // `file` names the source in messages. A null node reads as an empty mapping. Throws if `node`
    // is not a mapping or repeats a key.
    YamlMap(const YAML::Node& node, std::string where, std::shared_ptr<const std::string> file);

    bool has(const std::string& key) const;
    std::optional<std::string> string(const std::string& key);
    std::optional<int64_t> integer(const std::string& key, int64_t lo, int64_t hi);
    std::optional<double> number(const std::string& key, double lo, double hi);
    std::optional<bool> boolean(const std::string& key);
    // A string or a list of strings.
    std::optional<std::vector<std::string>> strings(const std::string& key);
    // A nested mapping (empty optional when absent or null).
    std::optional<YamlMap> map(const std::string& key);
    // The raw node (null when absent); the key counts as known.
    YAML::Node node(const std::string& key);

    // Every key of this mapping in file order, for maps of named entries (models: {small: ..., large:
    // ...}). Marks all keys as read.
    struct Entry {
        std::string key;
        YAML::Node key_node;  // where the entry is declared
        YAML::Node value;
    };
    std::vector<Entry> entries();

    // Throws for a key that no accessor asked for.
    void finish() const;

    // "file:line:column" of a node.
    std::string at(const YAML::Node& n) const;
    std::string path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
    const std::string& where() const { return where_; }
    std::shared_ptr<const std::string> file() const { return file_; }

    // Throws Error(invalid_argument) "file:line:col: path: message".
    [[noreturn]] void fail_at(const YAML::Node& n, const std::string& key, const std::string& message) const;

private:
    const YAML::Node* find(const std::string& key);
    std::string scalar(const std::string& key, const YAML::Node& v, const char* expected);

    YAML::Node node_;
    std::string where_;
    std::shared_ptr<const std::string> file_;
    std::vector<std::pair<std::string, std::pair<YAML::Node, YAML::Node>>> items_;  // key -> (key node, value)
    std::set<std::string> asked_;
};

}  // namespace kinglet::server
