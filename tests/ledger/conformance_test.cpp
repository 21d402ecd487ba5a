// The ledger contract, run against every backend: what is appended reads back field for field, in
// order, from any number of threads and across reopenings; the sums equal sums over the records.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "core/error.h"
#include "ledger/backend.h"
#include "ledger/ledger.h"
#include "ledger/records.h"

namespace kinglet::ledger {
namespace {

using test::full_record;

class Conformance : public testing::TestWithParam<std::string> {};

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1764547200000;  // 2025-12-01T00:00:00Z

Query window(int64_t from, int64_t to) {
    Query q;
    q.from_ms = from;
    q.to_ms = to;
    return q;
}

TEST_P(Conformance, EveryFieldReadsBackExactly) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    auto l = open_ledger(fresh.url());
    EXPECT_EQ(l->url(), fresh.url());
    EXPECT_TRUE(l->records({}).empty());
    std::vector<Record> in;
    for (int i = 0; i < 5; ++i) in.push_back(full_record(i, kT0 + i * 1000));
    in[1].confidence = 0.1 + 0.2;  // not exactly representable in decimal: must round-trip bit for bit
    in[2].attempts.clear();
    in[2].provider = "";
    in[2].status = 503;
    in[2].attempts.push_back({"large", "error", 0, 0, 0, 30000, std::nullopt, "connection refused: 'x'\n\"y\""});
    in[3].tenant = "";
    in[3].key_id = "";
    in[4].cost_usd = 1e-300;
    in[4].latency_ms = 123456789.123456789;
    for (const auto& r : in) l->append(r);
    const auto out = l->records({});
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) test::expect_same(out[i], in[i]);
}

TEST_P(Conformance, AttemptsKeepTheirOrder) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    auto l = open_ledger(fresh.url());
    Record r = full_record(1, kT0);
    r.attempts.clear();
    for (const char* p : {"z-last-alphabetically", "a-first", "m", "b", "small", "large", "x", "c", "d", "e", "f"})
        r.attempts.push_back({p, "error", 1, 2, 0.5, 1, std::nullopt, p});
    l->append(r);
    l->append(full_record(2, kT0));
    const auto out = l->records({});
    ASSERT_EQ(out.size(), 2u);
    test::expect_same(out[0], r);
}

TEST_P(Conformance, QueriesFilterByTimeTenantAndRoute) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    auto l = open_ledger(fresh.url());
    // Appended out of time order: records() returns oldest first.
    for (int i : {3, 0, 4, 1, 2}) l->append(full_record(i, kT0 + i * kDay));
    auto ids = [&](const Query& q) {
        std::vector<int64_t> t;
        for (const auto& r : l->records(q)) t.push_back((r.time_ms - kT0) / kDay);
        return t;
    };
    EXPECT_EQ(ids({}), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(ids(window(kT0 + kDay, kT0 + 3 * kDay)), (std::vector<int64_t>{1, 2}));  // from inclusive, to exclusive
    EXPECT_EQ(ids(window(kT0 + kDay + 1, kT0 + 3 * kDay + 1)), (std::vector<int64_t>{2, 3}));
    Query q;
    q.tenant = "acme";  // odd i
    EXPECT_EQ(ids(q), (std::vector<int64_t>{1, 3}));
    q.route = "triage";  // i % 3 != 0
    EXPECT_EQ(ids(q), (std::vector<int64_t>{1}));
    q.tenant.reset();
    EXPECT_EQ(ids(q), (std::vector<int64_t>{1, 2, 4}));
    q.tenant = "nobody";
    EXPECT_TRUE(ids(q).empty());
    // Attempts come with the records the filter selects, not with the others.
    for (const auto& r : l->records(window(kT0 + 2 * kDay, kT0 + 3 * kDay))) EXPECT_EQ(r.attempts.size(), 2u);
}

TEST_P(Conformance, RemoteSpendSumsTheTenantsWindow) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    auto l = open_ledger(fresh.url());
    const double spend[] = {0.25, 1.5, 0.125, 4.0, 0.0625};
    for (int i = 0; i < 5; ++i) {
        Record r = full_record(i, kT0 + i * kDay);
        r.tenant = i == 4 ? "other" : "acme";
        r.remote_cost_usd = spend[i];
        r.cost_usd = spend[i] + 1;
        l->append(r);
    }
    EXPECT_EQ(l->remote_spend_usd("acme", kT0, kT0 + 5 * kDay), 0.25 + 1.5 + 0.125 + 4.0);
    EXPECT_EQ(l->remote_spend_usd("acme", kT0 + kDay, kT0 + 3 * kDay), 1.5 + 0.125);
    EXPECT_EQ(l->remote_spend_usd("acme", kT0 + 3 * kDay, kT0 + 3 * kDay), 0.0);
    EXPECT_EQ(l->remote_spend_usd("other", 0, INT64_MAX), 0.0625);
    EXPECT_EQ(l->remote_spend_usd("nobody", 0, INT64_MAX), 0.0);
}

TEST_P(Conformance, SixteenThreadsAppendingAtOnceLoseNothing) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    auto l = open_ledger(fresh.url());
    constexpr int kThreads = 16, kEach = 40;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                Record r = full_record(i, kT0 + i);
                r.id = fmt::format("t{}-{}", t, i);
                r.tenant = fmt::format("t{}", t);
                l->append(r);
                // What append() committed is visible at once, to this thread and to budgets.
                if (i == kEach / 2) {
                    EXPECT_GT(l->remote_spend_usd(r.tenant, 0, INT64_MAX), 0);
                }
            }
        });
    for (auto& t : threads) t.join();
    const auto out = l->records({});
    ASSERT_EQ(out.size(), size_t(kThreads * kEach));
    std::set<std::string> ids;
    for (const auto& r : out) {
        ids.insert(r.id);
        ASSERT_EQ(r.attempts.size(), 2u) << r.id;
        EXPECT_EQ(r.attempts[0].provider, "small");
        EXPECT_EQ(r.attempts[1].provider, "large");
    }
    EXPECT_EQ(ids.size(), size_t(kThreads * kEach));
}

TEST_P(Conformance, ReopeningKeepsEverythingAndAppendsAfterIt) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    std::vector<Record> in;
    for (int round = 0; round < 3; ++round) {
        auto l = open_ledger(fresh.url());
        for (int i = 0; i < 3; ++i) {
            in.push_back(full_record(round * 10 + i, kT0 + round * 10 + i));
            l->append(in.back());
        }
    }
    const auto out = open_ledger(fresh.url())->records({});
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) test::expect_same(out[i], in[i]);
}

TEST_P(Conformance, ManyOpenersAtOnceShareOneSchema) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    std::vector<std::unique_ptr<Ledger>> ledgers(6);
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (size_t i = 0; i < ledgers.size(); ++i)
        threads.emplace_back([&, i] {
            try {
                ledgers[i] = open_ledger(fresh.url());
                ledgers[i]->append(full_record(int(i), kT0 + int64_t(i)));
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++errors;
            }
        });
    for (auto& t : threads) t.join();
    ASSERT_EQ(errors, 0);
    for (auto& l : ledgers) EXPECT_EQ(l->records({}).size(), ledgers.size());
}

TEST_P(Conformance, SumsEqualSumsOverTheRecords) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    auto l = open_ledger(fresh.url());
    std::mt19937_64 rng(42);
    std::vector<Record> in;
    for (int i = 0; i < 300; ++i) in.push_back(test::random_record(rng, kT0 - 2 * kDay, 6 * kDay));
    for (const auto& r : in) l->append(r);
    const Query q = window(kT0 - kDay, kT0 + 3 * kDay);
    std::vector<const Record*> selected;
    for (const auto& r : in)
        if (r.time_ms >= q.from_ms && r.time_ms < q.to_ms) selected.push_back(&r);

    // Totals, summed here by hand.
    int64_t requests = 0, escalated = 0, limited = 0, failed = 0, pt = 0, ct = 0;
    double cost = 0, remote = 0;
    std::map<std::string, std::tuple<int64_t, int64_t, double>> by_provider;  // attempts, failures, cost
    std::map<std::string, int64_t> by_day;
    for (const Record* r : selected) {
        ++requests;
        escalated += r->escalated;
        limited += r->budget_limited;
        failed += r->status >= 400;
        pt += r->prompt_tokens;
        ct += r->completion_tokens;
        cost += r->cost_usd;
        remote += r->remote_cost_usd;
        by_day[utc_day(r->time_ms)] += 1;
        for (const auto& a : r->attempts) {
            auto& [n, f, c] = by_provider[a.provider];
            ++n;
            f += a.outcome == "error" || a.outcome == "timeout";
            c += a.cost_usd;
        }
    }
    const auto total = l->usage(q, GroupBy::none);
    ASSERT_EQ(total.size(), 1u);
    EXPECT_EQ(total[0].requests, requests);
    EXPECT_EQ(total[0].escalated, escalated);
    EXPECT_EQ(total[0].budget_limited, limited);
    EXPECT_EQ(total[0].failed, failed);
    EXPECT_EQ(total[0].prompt_tokens, pt);
    EXPECT_EQ(total[0].completion_tokens, ct);
    EXPECT_NEAR(total[0].cost_usd, cost, 1e-12);
    EXPECT_NEAR(total[0].remote_cost_usd, remote, 1e-12);

    const auto days = l->usage(q, GroupBy::day);
    ASSERT_EQ(days.size(), by_day.size());
    for (const auto& d : days) EXPECT_EQ(d.requests, by_day[d.key]) << d.key;
    EXPECT_EQ(days.front().key, "2025-11-30");
    EXPECT_EQ(days.back().key, "2025-12-03");

    const auto providers = l->provider_usage(q);
    ASSERT_EQ(providers.size(), by_provider.size());
    for (const auto& p : providers) {
        const auto& [n, f, c] = by_provider[p.provider];
        EXPECT_EQ(p.attempts, n) << p.provider;
        EXPECT_EQ(p.failures, f) << p.provider;
        EXPECT_NEAR(p.cost_usd, c, 1e-12) << p.provider;
    }

    // Every grouping equals the reference aggregation over records() (the backends sum in SQL).
    for (GroupBy by : {GroupBy::route, GroupBy::tenant, GroupBy::provider, GroupBy::day}) {
        const auto sql = l->usage(q, by);
        const auto ref = usage_of(l->records(q), by);
        ASSERT_EQ(sql.size(), ref.size());
        for (size_t i = 0; i < sql.size(); ++i) {
            EXPECT_EQ(sql[i].key, ref[i].key);
            EXPECT_EQ(sql[i].requests, ref[i].requests);
            EXPECT_EQ(sql[i].escalated, ref[i].escalated);
            EXPECT_EQ(sql[i].failed, ref[i].failed);
            EXPECT_EQ(sql[i].prompt_tokens, ref[i].prompt_tokens);
            EXPECT_EQ(sql[i].completion_tokens, ref[i].completion_tokens);
            EXPECT_NEAR(sql[i].cost_usd, ref[i].cost_usd, 1e-12);
            EXPECT_NEAR(sql[i].latency_ms, ref[i].latency_ms, 1e-6);
        }
    }
    const Query none = window(kT0 + 100 * kDay, INT64_MAX);
    EXPECT_TRUE(l->usage(none, GroupBy::none).empty());
    EXPECT_TRUE(l->provider_usage(none).empty());
}

TEST_P(Conformance, UnstorableValuesFailTheirOwnAppendOnly) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    auto l = open_ledger(fresh.url());
    Record bad = full_record(1, kT0);
    bad.cost_usd = std::nan("");
    EXPECT_THROW(l->append(bad), Error);
    bad = full_record(2, kT0);
    bad.route = std::string("a\0b", 3);
    EXPECT_THROW(l->append(bad), Error);
    l->append(full_record(3, kT0));
    EXPECT_EQ(l->records({}).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kinglet::ledger
