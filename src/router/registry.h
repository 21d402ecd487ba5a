// The names clients may put in "model": each resolves to a Provider (a local model today; remote
// endpoints and routes later). Thread-safe: models are added while the server already answers.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/provider.h"

namespace kinglet::router {

class Registry {
public:
    // Adds or replaces `name`.
    void add(const std::string& name, std::shared_ptr<Provider> provider) {
        std::lock_guard<std::mutex> lock(mu_);
        entries_[name] = std::move(provider);
    }
    // nullptr when the name is unknown.
    std::shared_ptr<Provider> find(std::string_view name) const {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = entries_.find(name);
        return it == entries_.end() ? nullptr : it->second;
    }
    // In name order.
    std::vector<std::pair<std::string, std::shared_ptr<Provider>>> list() const {
        std::lock_guard<std::mutex> lock(mu_);
        return {entries_.begin(), entries_.end()};
    }
    std::vector<std::string> names() const {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<std::string> n;
        for (const auto& e : entries_) n.push_back(e.first);
        return n;
    }
    size_t size() const {
        std::lock_guard<std::mutex> lock(mu_);
        return entries_.size();
    }

private:
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<Provider>, std::less<>> entries_;
};

}  // namespace kinglet::router
