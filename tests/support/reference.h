// Reads the reference-output files in ../shared/models (see its README for the fields).
#pragma once
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace kinglet::test {

struct RefRun {
    std::string prompt;
    std::vector<int32_t> prompt_ids;  // with BOS
    std::vector<int32_t> ids;         // generated
    std::vector<std::vector<std::pair<int32_t, float>>> top10;
    std::vector<float> margins;       // top1 - top2 per step, from top10
};

inline std::vector<RefRun> load_reference(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open reference " + path);
    nlohmann::json j = nlohmann::json::parse(in);
    std::vector<RefRun> runs;
    for (const auto& r : j.at("results")) {
        RefRun run;
        run.prompt = r.at("prompt").get<std::string>();
        run.prompt_ids = r.at("prompt_ids").get<std::vector<int32_t>>();
        run.ids = r.at("ids").get<std::vector<int32_t>>();
        for (const auto& step : r.at("top10")) {
            std::vector<std::pair<int32_t, float>> s;
            for (const auto& p : step) s.emplace_back(p.at(0).get<int32_t>(), p.at(1).get<float>());
            run.margins.push_back(s.size() > 1 ? s[0].second - s[1].second : 1e9f);
            run.top10.push_back(std::move(s));
        }
        runs.push_back(std::move(run));
    }
    return runs;
}

}  // namespace kinglet::test
