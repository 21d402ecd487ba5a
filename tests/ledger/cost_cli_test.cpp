// `kinglet cost` end to end: the binary reads a ledger filled through the API, and its totals equal
// sums over the records that went in (and, for SQLite, what the sqlite3 command-line tool sums from
// the file). `--project` prints the hand-worked numbers of projection_test.cpp.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <map>

#include "ledger/backend.h"
#include "ledger/ledger.h"
#include "ledger/records.h"
#include "support/paths.h"

namespace kinglet::ledger {
namespace {

struct CliResult {
    int status;
    std::string out;
};

CliResult capture(const std::string& cmd) {
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int st = pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

CliResult run(const std::string& args) { return capture(test::kinglet_binary() + " " + args); }

// `kinglet args` run with `dir` as the working directory.
CliResult run_in(const std::filesystem::path& dir, const std::string& args) {
    return capture("cd " + quoted(dir.string()) + " && " + test::kinglet_binary() + " " + args);
}

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1764547200000;  // 2025-12-01

class CostCli : public testing::TestWithParam<std::string> {};

TEST_P(CostCli, TotalsEqualSumsOfTheRecords) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    std::mt19937_64 rng(7);
    std::vector<Record> in;
    {
        auto l = open_ledger(fresh.url());
        for (int i = 0; i < 400; ++i) in.push_back(test::random_record(rng, kT0, 10 * kDay));
        for (const auto& r : in) l->append(r);
    }
    // Dec 3 .. Dec 6 inclusive, as --from/--to dates.
    const int64_t from = kT0 + 2 * kDay, to = kT0 + 6 * kDay;
    int64_t requests = 0, escalated = 0, pt = 0, ct = 0;
    double cost = 0, remote = 0;
    std::map<std::string, int64_t> route_requests;
    std::map<std::string, double> provider_cost;
    std::map<std::string, int64_t> provider_served;
    for (const auto& r : in) {
        if (r.time_ms < from || r.time_ms >= to) continue;
        ++requests;
        escalated += r.escalated;
        pt += r.prompt_tokens;
        ct += r.completion_tokens;
        cost += r.cost_usd;
        remote += r.remote_cost_usd;
        route_requests[r.route] += 1;
        if (!r.provider.empty()) provider_served[r.provider] += 1;
        for (const auto& a : r.attempts) provider_cost[a.provider] += a.cost_usd;
    }
    ASSERT_GT(requests, 50);
    const CliResult res = run("cost --ledger " + quoted(fresh.url()) +
                        " --from 2025-12-03 --to 2025-12-06 --baseline large --price-in 1.25 --price-out 10 --json");
    ASSERT_EQ(res.status, 0) << res.out;
    const auto j = nlohmann::json::parse(res.out);
    const auto& t = j["totals"];
    EXPECT_EQ(t["requests"].get<int64_t>(), requests);
    EXPECT_EQ(t["escalated"].get<int64_t>(), escalated);
    EXPECT_DOUBLE_EQ(t["escalation_rate"].get<double>(), double(escalated) / double(requests));
    EXPECT_EQ(t["prompt_tokens"].get<int64_t>(), pt);
    EXPECT_EQ(t["completion_tokens"].get<int64_t>(), ct);
    EXPECT_NEAR(t["cost_usd"].get<double>(), cost, 1e-9);
    EXPECT_NEAR(t["remote_cost_usd"].get<double>(), remote, 1e-9);
    EXPECT_EQ(j["from"], "2025-12-03T00:00:00Z");
    EXPECT_EQ(j["to"], "2025-12-07T00:00:00Z");
    const double baseline = (double(pt) * 1.25 + double(ct) * 10) / 1e6;
    EXPECT_NEAR(j["baseline"]["cost_usd"].get<double>(), baseline, 1e-9);
    EXPECT_NEAR(j["baseline"]["savings_usd"].get<double>(), baseline - cost, 1e-9);
    ASSERT_EQ(j["by_route"].size(), route_requests.size());
    for (const auto& g : j["by_route"]) EXPECT_EQ(g["requests"].get<int64_t>(), route_requests[g["route"]]);
    ASSERT_EQ(j["by_provider"].size(), provider_cost.size());
    for (const auto& p : j["by_provider"]) {
        EXPECT_NEAR(p["cost_usd"].get<double>(), provider_cost[p["provider"]], 1e-9);
        EXPECT_EQ(p["served"].get<int64_t>(), provider_served[p["provider"]]);
    }
    ASSERT_EQ(j["by_day"].size(), 4u);
    EXPECT_EQ(j["by_day"][0]["day"], "2025-12-03");
    EXPECT_EQ(j["by_day"][3]["day"], "2025-12-06");

    if (GetParam() == "sqlite") {
        // The sqlite3 tool's own sums over the file.
        const std::string file = fresh.url().substr(9);
        const std::string sql = "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens) FROM requests WHERE "
                                "time_ms >= " + std::to_string(from) + " AND time_ms < " + std::to_string(to);
        FILE* p = popen(("sqlite3 -separator ' ' " + file + " \"" + sql + "\"").c_str(), "r");
        ASSERT_NE(p, nullptr);
        int64_t n = -1, a = -1, b = -1;
        ASSERT_EQ(fscanf(p, "%ld %ld %ld", &n, &a, &b), 3) << "is the sqlite3 tool installed? (scripts/deps.sh)";
        pclose(p);
        EXPECT_EQ(t["requests"].get<int64_t>(), n);
        EXPECT_EQ(t["prompt_tokens"].get<int64_t>(), a);
        EXPECT_EQ(t["completion_tokens"].get<int64_t>(), b);
    }

    // The text report carries the same totals.
    const CliResult text = run("cost --ledger " + quoted(fresh.url()) + " --from 2025-12-03 --to 2025-12-06");
    ASSERT_EQ(text.status, 0) << text.out;
    EXPECT_NE(text.out.find("Requests      " + std::to_string(requests) + " "), std::string::npos) << text.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, CostCli, testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(CostCli, PricesAndLedgerComeFromTheConfigFile) {
    const auto dir = test::make_temp_dir("kinglet-cost");
    struct Cleanup {
        std::filesystem::path p;
        ~Cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(p, ec);
        }
    } cleanup{dir};
    {
        auto l = open_ledger((dir / "ledger.db").string());
        Record r = test::full_record(1, kT0);
        r.prompt_tokens = 1000000;
        r.completion_tokens = 200000;
        r.cost_usd = 0.5;
        l->append(r);
    }
    std::ofstream(dir / "kinglet.yaml") << "ledger: { url: \"sqlite://ledger.db\" }\n"
                                           "providers:\n  large:\n    base_url: http://x\n"
                                           "    price: { input_per_mtok: 2.0, output_per_mtok: 8.0 }\n";
    const CliResult res = run("cost --config " + (dir / "kinglet.yaml").string() + " --baseline large --json");
    ASSERT_EQ(res.status, 0) << res.out;
    const auto j = nlohmann::json::parse(res.out);
    EXPECT_DOUBLE_EQ(j["baseline"]["cost_usd"].get<double>(), 2.0 + 0.2 * 8.0);
    EXPECT_DOUBLE_EQ(j["baseline"]["savings_usd"].get<double>(), 3.6 - 0.5);

    // --project takes the traffic it is not given from the ledger: one request on one day,
    // 1M + 0.2M tokens, escalated.
    const CliResult proj = run("cost --project --config " + (dir / "kinglet.yaml").string() +
                               " --baseline large --decode-tps 100 --prefill-tps 1000 --machine-usd-per-hour 1 --json");
    ASSERT_EQ(proj.status, 0) << proj.out;
    const auto pj = nlohmann::json::parse(proj.out);
    EXPECT_DOUBLE_EQ(pj["input"]["requests_per_day"].get<double>(), 1);
    EXPECT_DOUBLE_EQ(pj["input"]["input_tokens"].get<double>(), 1e6);
    EXPECT_DOUBLE_EQ(pj["input"]["output_tokens"].get<double>(), 2e5);
    EXPECT_DOUBLE_EQ(pj["input"]["escalation_rate"].get<double>(), 1);
    EXPECT_DOUBLE_EQ(pj["options"][0]["monthly_usd"].get<double>(), 30 * 3.6);

    const CliResult missing = run("cost --config " + (dir / "kinglet.yaml").string() + " --baseline nosuch");
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.out.find("no provider 'nosuch'"), std::string::npos) << missing.out;
    std::ofstream(dir / "off.yaml") << "providers: {}\nledger: off\n";
    const CliResult off = run("cost --config " + (dir / "off.yaml").string());
    EXPECT_EQ(off.status, 1);
    EXPECT_NE(off.out.find("says `ledger: off`"), std::string::npos) << off.out;
    const CliResult nofile = run("cost --ledger " + (dir / "typo.db").string());
    EXPECT_EQ(nofile.status, 1);
    EXPECT_NE(nofile.out.find("no such file"), std::string::npos) << nofile.out;
    EXPECT_FALSE(std::filesystem::exists(dir / "typo.db"));
    const CliResult badtime = run("cost --ledger " + (dir / "ledger.db").string() + " --from 2025-13-01");
    EXPECT_EQ(badtime.status, 1);
    EXPECT_NE(badtime.out.find("2025-13-01"), std::string::npos) << badtime.out;
}

// Without --ledger, kinglet cost reads the ledger kinglet serve keeps by default: kinglet-ledger.db beside
// the config file (--config naming no ledger), else in the working directory.
TEST(CostCli, ReadsTheDefaultLedger) {
    const auto dir = test::make_temp_dir("kinglet-cost-default");
    struct Cleanup {
        std::filesystem::path p;
        ~Cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(p, ec);
        }
    } cleanup{dir};
    std::filesystem::create_directories(dir / "etc" / "sub");
    std::ofstream(dir / "etc" / "kinglet.yaml") << "providers: {}\n";
    const std::string etc_yaml = (dir / "etc" / "kinglet.yaml").string();
    // Nothing written yet: an error naming the default file, and no file made.
    const CliResult none = run("cost --config " + etc_yaml);
    EXPECT_EQ(none.status, 1);
    EXPECT_NE(none.out.find((dir / "etc" / "kinglet-ledger.db").string() + ": no such file"), std::string::npos)
        << none.out;
    EXPECT_FALSE(std::filesystem::exists(dir / "etc" / "kinglet-ledger.db"));
    {
        auto l = open_ledger((dir / "etc" / "kinglet-ledger.db").string());
        for (int i = 0; i < 3; ++i) l->append(test::full_record(i, kT0 + i));
        auto here = open_ledger((dir / "kinglet-ledger.db").string());
        here->append(test::full_record(7, kT0));
    }
    // From another working directory: the config's folder decides.
    const CliResult by_cfg = run_in("/", "cost --json --config " + etc_yaml);
    ASSERT_EQ(by_cfg.status, 0) << by_cfg.out;
    EXPECT_EQ(nlohmann::json::parse(by_cfg.out)["totals"]["requests"].get<int64_t>(), 3);
    EXPECT_EQ(nlohmann::json::parse(by_cfg.out)["ledger"], "sqlite://" + (dir / "etc" / "kinglet-ledger.db").string());
    // No --config: the working directory's file.
    const CliResult here_none = run_in(dir / "etc" / "sub", "cost --json");
    EXPECT_EQ(here_none.status, 1);
    EXPECT_NE(here_none.out.find("when run here without --config"), std::string::npos) << here_none.out;
    const CliResult here = run_in(dir, "cost --json");
    ASSERT_EQ(here.status, 0) << here.out;
    EXPECT_EQ(nlohmann::json::parse(here.out)["totals"]["requests"].get<int64_t>(), 1);
}

TEST(CostCli, ProjectPrintsTheThreeOptions) {
    const CliResult res = run("cost --project --requests-per-day 10000 --input-tokens 500 --output-tokens 200 "
                        "--price-in 1.25 --price-out 10 --prefill-tps 400 --decode-tps 50 "
                        "--machine-usd-per-hour 0.2 --escalation-rate 10% --peak-factor 2 --json");
    ASSERT_EQ(res.status, 0) << res.out;
    const auto j = nlohmann::json::parse(res.out);
    EXPECT_DOUBLE_EQ(j["options"][0]["monthly_usd"].get<double>(), 787.5);
    EXPECT_DOUBLE_EQ(j["options"][1]["monthly_usd"].get<double>(), 288);
    EXPECT_DOUBLE_EQ(j["options"][2]["monthly_usd"].get<double>(), 366.75);
    const CliResult text = run("cost --project --requests-per-day 10000 --input-tokens 500 --output-tokens 200 "
                         "--price-in 1.25 --price-out 10 --prefill-tps 400 --decode-tps 50 "
                         "--machine-usd-per-hour 0.2 --escalation-rate 0.1 --peak-factor 2");
    ASSERT_EQ(text.status, 0) << text.out;
    EXPECT_NE(text.out.find("366.75"), std::string::npos) << text.out;
    const CliResult missing = run("cost --project --requests-per-day 10 --input-tokens 5 --output-tokens 2");
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.out.find("--machine-usd-per-hour"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace kinglet::ledger
