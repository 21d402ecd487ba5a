// stratified_sample (declared in dataset.h): two streaming passes over the file.
#pragma once
#include <algorithm>
#include <map>
#include <queue>
#include <utility>

namespace kinglet::eval {

std::map<std::string, size_t> stratum_quotas(const std::map<std::string, uint64_t>& counts, size_t limit);

template <typename Keep>
std::unordered_set<uint64_t> stratified_sample(const std::string& path, const FieldMap& map,
                                               std::optional<Format> format, size_t limit, uint64_t seed,
                                               Keep keep) {
    std::map<std::string, uint64_t> counts;
    {
        DatasetReader r(path, map, format);
        Case c;
        while (r.next(c))
            if (keep(c)) ++counts[stratum_of(c)];
    }
    const auto quotas = stratum_quotas(counts, limit);
    // Per stratum, a max-heap of the `quota` smallest (hash, line) seen so far.
    std::map<std::string, std::priority_queue<std::pair<uint64_t, uint64_t>>> heaps;
    DatasetReader r(path, map, format);
    Case c;
    while (r.next(c)) {
        if (!keep(c)) continue;
        const std::string s = stratum_of(c);
        const size_t q = quotas.at(s);
        if (q == 0) continue;
        auto& h = heaps[s];
        const std::pair<uint64_t, uint64_t> key{case_hash(c.id, seed), c.line};
        if (h.size() < q) h.push(key);
        else if (key < h.top()) {
            h.pop();
            h.push(key);
        }
    }
    std::unordered_set<uint64_t> lines;
    for (auto& [s, h] : heaps)
        for (; !h.empty(); h.pop()) lines.insert(h.top().second);
    return lines;
}

}  // namespace kinglet::eval
