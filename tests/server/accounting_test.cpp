// Budgets at their edges: the UTC month boundary (to the millisecond), a tenant exactly at its limit,
// a limit of 0, spend recorded across the boundary, and replicas sharing a ledger. Times are Unix
// milliseconds computed with GNU date (`date -u -d 2026-02-01 +%s`), not with the code under test.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>

#include "ledger/ledger.h"
#include "server/accounting.h"

namespace kinglet::server {
namespace {

constexpr int64_t kS = 1000;
constexpr int64_t kDec1_2025 = 1764547200 * kS;
constexpr int64_t kJan1 = 1767225600 * kS;
constexpr int64_t kJan15 = 1768471200 * kS;             // 2026-01-15T10:00:00Z
constexpr int64_t kJan31Last = 1769903999 * kS + 999;    // 2026-01-31T23:59:59.999Z
constexpr int64_t kFeb1 = 1769904000 * kS;
constexpr int64_t kMar1 = 1772323200 * kS;
constexpr int64_t kFeb1_2028 = 1832976000 * kS;
constexpr int64_t kFeb29Noon_2028 = 1835438400 * kS;
constexpr int64_t kMar1_2028 = 1835481600 * kS;

TEST(Budget, MonthStartIsTheFirstMillisecondOfTheUtcMonth) {
    EXPECT_EQ(Accounting::month_start_ms(kJan1), kJan1);
    EXPECT_EQ(Accounting::month_start_ms(kJan15), kJan1);
    EXPECT_EQ(Accounting::month_start_ms(kJan31Last), kJan1);
    EXPECT_EQ(Accounting::month_start_ms(kFeb1), kFeb1);
    EXPECT_EQ(Accounting::month_start_ms(kFeb1 + 1), kFeb1);
    EXPECT_EQ(Accounting::month_start_ms(kMar1 - 1), kFeb1);    // 2026 is not a leap year: Feb has 28 days
    EXPECT_EQ(Accounting::month_start_ms(kJan1 - 1), kDec1_2025);  // across the year
    EXPECT_EQ(Accounting::month_start_ms(kFeb29Noon_2028), kFeb1_2028);
    EXPECT_EQ(Accounting::month_start_ms(kMar1_2028), kMar1_2028);
}

ledger::Record spend(const std::string& id, const std::string& tenant, int64_t time_ms, double remote_usd) {
    ledger::Record r;
    r.id = id;
    r.time_ms = time_ms;
    r.tenant = tenant;
    r.route = "triage";
    r.endpoint = "chat";
    r.provider = "large";
    r.escalated = true;
    r.attempts.resize(1);
    r.attempts[0].provider = r.provider;
    r.attempts[0].outcome = std::string("ok");
    r.attempts[0].cost_usd = remote_usd;
    r.cost_usd = r.remote_cost_usd = remote_usd;
    return r;
}

struct Fixture {
    std::atomic<int64_t> now{kJan15};
    Tenant t{"acme", "paid", 1.0, false};
    std::unique_ptr<Accounting> make(std::shared_ptr<ledger::Ledger> l = nullptr, double refresh_s = 5) {
        return std::make_unique<Accounting>(std::vector<Tenant>{t}, std::vector<int>{0}, std::move(l), refresh_s,
                                            [this] { return now.load(); });
    }
};

TEST(Budget, ExactlyAtTheLimitIsSpent) {
    Fixture f;
    auto acct = f.make();
    EXPECT_TRUE(acct->remote_allowed(f.t));
    // 0.25 is exact in binary: three of them leave the tenant under $1, the fourth puts it at $1.
    for (int i = 0; i < 3; ++i) acct->record(spend(fmt::format("r{}", i), "acme", f.now, 0.25));
    EXPECT_TRUE(acct->remote_allowed(f.t));  // $0.75 < $1
    acct->record(spend("r3", "acme", f.now, 0.25));
    EXPECT_FALSE(acct->remote_allowed(f.t));  // $1.00: the whole budget is spent
    // Spend of other tenants and local spend do not count.
    Fixture g;
    auto other = g.make();
    other->remote_allowed(g.t);
    other->record(spend("x", "someone-else", g.now, 5));
    ledger::Record local = spend("y", "acme", g.now, 0);
    local.cost_usd = 7;
    other->record(local);
    EXPECT_TRUE(other->remote_allowed(g.t));
}

TEST(Budget, ALimitOfZeroAllowsNoRemoteCall) {
    Fixture f;
    f.t.monthly_remote_usd = 0.0;
    EXPECT_FALSE(f.make()->remote_allowed(f.t));
    Tenant unlimited{"free", "default", std::nullopt, false};
    EXPECT_TRUE(f.make()->remote_allowed(unlimited));
}

TEST(Budget, TheMonthRollsOverAtMidnightUtcWithoutALedger) {
    Fixture f;
    f.now = kJan31Last - 10;
    auto acct = f.make();
    EXPECT_TRUE(acct->remote_allowed(f.t));
    acct->record(spend("jan", "acme", f.now, 1.0));
    f.now = kJan31Last;
    EXPECT_FALSE(acct->remote_allowed(f.t));  // the last millisecond of January
    f.now = kFeb1;
    EXPECT_TRUE(acct->remote_allowed(f.t));   // the first of February: a new budget
    // A request that arrived in January but is recorded now counts against January, not February.
    acct->record(spend("late", "acme", kJan31Last, 5.0));
    EXPECT_TRUE(acct->remote_allowed(f.t));
    acct->record(spend("feb", "acme", kFeb1, 1.0));
    EXPECT_FALSE(acct->remote_allowed(f.t));
}

std::filesystem::path temp_ledger_path() {
    std::random_device rd;
    return std::filesystem::temp_directory_path() / ("kinglet-budget-" + std::to_string(rd()) + ".db");
}

struct TempLedger {
    std::filesystem::path path = temp_ledger_path();
    std::shared_ptr<ledger::Ledger> open() { return ledger::open_ledger(path.string()); }
    ~TempLedger() {
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix, ec);
    }
};

TEST(Budget, TheMonthRollsOverWithALedger) {
    TempLedger tl;
    auto l = tl.open();
    // Written by an earlier process: $0.50 in December, $0.50 at the last millisecond of January.
    l->append(spend("dec", "acme", kJan1 - 1, 0.5));
    l->append(spend("jan", "acme", kJan31Last, 0.5));
    Fixture f;
    f.now = kJan15;
    EXPECT_TRUE(f.make(l, 0)->remote_allowed(f.t));  // January so far: $0.50 of $1
    f.now = kJan31Last;
    auto acct = f.make(l, 0);
    EXPECT_TRUE(acct->remote_allowed(f.t));          // still $0.50 (December's spend is not January's)
    acct->record(spend("jan2", "acme", kJan31Last, 0.5));
    EXPECT_FALSE(acct->remote_allowed(f.t));         // $1.00
    f.now = kFeb1;
    EXPECT_TRUE(acct->remote_allowed(f.t));          // February: nothing yet
    // The month's lower bound is inclusive: spend at exactly 00:00:00.000 counts in February.
    l->append(spend("feb", "acme", kFeb1, 1.0));     // by another replica
    EXPECT_FALSE(acct->remote_allowed(f.t));
}

TEST(Budget, ReplicasSharingALedgerSeeEachOthersSpend) {
    TempLedger tl;
    Fixture f;
    auto a = f.make(tl.open(), 0);
    auto b = f.make(tl.open(), 0);
    EXPECT_TRUE(a->remote_allowed(f.t));
    EXPECT_TRUE(b->remote_allowed(f.t));
    a->record(spend("a1", "acme", f.now, 0.5));
    b->record(spend("b1", "acme", f.now, 0.5));
    EXPECT_FALSE(a->remote_allowed(f.t));
    EXPECT_FALSE(b->remote_allowed(f.t));
}

}  // namespace
}  // namespace kinglet::server
