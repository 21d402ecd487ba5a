// PostgreSQL-only behaviour: a database made by hand with an older schema version is migrated when a
// ledger opens it (as `kinglet serve` and `kinglet cost` do on start) and keeps its rows.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "ledger/backend.h"
#include "ledger/ledger.h"
#include "ledger/records.h"

namespace kinglet::ledger {
namespace {

// Runs SQL on the database at `url` with libpq directly; returns the first column of the first row of
// the last statement's result ("" when it has none).
std::string sql(const std::string& url, const std::string& statements) {
    PGconn* c = PQconnectdb(url.c_str());
    EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, statements.c_str());
    const auto st = PQresultStatus(r);
    EXPECT_TRUE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) << PQerrorMessage(c) << " in " << statements;
    std::string out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    PQfinish(c);
    return out;
}

TEST(PostgresLedger, MigratesAVersion1DatabaseMadeByHand) {
    KINGLET_FRESH_LEDGER(fresh, "postgres");
    const std::string& url = fresh.url();
    // Schema version 1 as it was released: the two tables, no indices.
    sql(url,
        "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_ms BIGINT NOT NULL, what TEXT NOT NULL);"
        "INSERT INTO schema_version VALUES (1, 0, 'requests and attempts');"
        "CREATE TABLE requests (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, time_ms BIGINT NOT NULL, tenant TEXT "
        "NOT NULL, key_id TEXT NOT NULL, route TEXT NOT NULL, endpoint TEXT NOT NULL, provider TEXT NOT NULL, "
        "escalated INTEGER NOT NULL, budget_limited INTEGER NOT NULL, confidence DOUBLE PRECISION, signal TEXT NOT "
        "NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd DOUBLE PRECISION NOT "
        "NULL, remote_cost_usd DOUBLE PRECISION NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, ttft_ms DOUBLE "
        "PRECISION NOT NULL, status INTEGER NOT NULL, finish_reason TEXT NOT NULL);"
        "CREATE TABLE attempts (request_seq BIGINT NOT NULL REFERENCES requests(seq), idx INTEGER NOT NULL, "
        "provider TEXT NOT NULL, outcome TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER "
        "NOT NULL, cost_usd DOUBLE PRECISION NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, confidence DOUBLE "
        "PRECISION, error TEXT NOT NULL, PRIMARY KEY (request_seq, idx));"
        "INSERT INTO requests (id, time_ms, tenant, key_id, route, endpoint, provider, escalated, budget_limited, "
        "confidence, signal, prompt_tokens, completion_tokens, cost_usd, remote_cost_usd, latency_ms, ttft_ms, "
        "status, finish_reason) VALUES ('old-1', 1700000000000, 'acme', 'k1', 'triage', 'chat', 'large', 1, 0, "
        "NULL, 'label_prob', 100, 5, 0.5, 0.25, 800, 700, 200, 'stop');"
        "INSERT INTO attempts VALUES (1, 0, 'small', 'low_confidence', 100, 1, 0.25, 30, 0.4, '');"
        "INSERT INTO attempts VALUES (1, 1, 'large', 'ok', 100, 5, 0.25, 770, NULL, '');");
    {
        auto l = open_ledger(url);
        const auto out = l->records({});
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].id, "old-1");
        EXPECT_EQ(out[0].provider, "large");
        EXPECT_TRUE(out[0].escalated);
        EXPECT_EQ(out[0].cost_usd, 0.5);
        ASSERT_EQ(out[0].attempts.size(), 2u);
        EXPECT_EQ(out[0].attempts[0].outcome, "low_confidence");
        EXPECT_EQ(out[0].attempts[0].confidence, 0.4);
        EXPECT_FALSE(out[0].attempts[1].confidence);
        EXPECT_EQ(l->remote_spend_usd("acme", 0, INT64_MAX), 0.25);
        l->append(test::full_record(1, 1700000001000));  // the old rows' sequence goes on
        EXPECT_EQ(l->records({}).size(), 2u);
    }
    EXPECT_EQ(sql(url, "SELECT MAX(version) FROM schema_version"), "2");
    EXPECT_EQ(sql(url, "SELECT COUNT(*) FROM schema_version"), "2");
    EXPECT_EQ(sql(url, "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'requests' AND indexname IN "
                       "('requests_time', 'requests_tenant_time')"),
              "2");
    EXPECT_EQ(sql(url, "SELECT id FROM requests ORDER BY seq LIMIT 1"), "old-1");
    // Opening again applies nothing more.
    open_ledger(url);
    EXPECT_EQ(sql(url, "SELECT COUNT(*) FROM schema_version"), "2");
    EXPECT_EQ(sql(url, "SELECT COUNT(*) FROM requests"), "2");
    EXPECT_EQ(sql(url, "SELECT COUNT(*) FROM attempts"), std::to_string(2 + test::full_record(1, 0).attempts.size()));
}

}  // namespace
}  // namespace kinglet::ledger
