// The PostgreSQL ledger, for several replicas sharing one ledger: the schema of schema.h, migrated
// under a transaction-scoped advisory lock so replicas starting together migrate once. A writer
// connection used by one group-commit leader at a time (COMMIT returns once PostgreSQL has made the batch
// durable, synchronous_commit being on by default) and a reader connection behind a mutex. A
// connection that broke (server restart, network) is re-established once per operation.
#include <libpq-fe.h>

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "ledger/backends.h"
#include "ledger/group_commit.h"
#include "ledger/queries.h"
#include "ledger/schema.h"
#include "ledger/url.h"

namespace kinglet::ledger {
namespace {

// pg_advisory_xact_lock key for migrations: "kinglet" in ASCII.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(30224011237009780)";

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string trimmed(const char* s) {
    std::string m = s ? s : "";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
}

using Param = std::optional<std::string>;

class Result {
public:
    explicit Result(PGresult* r) : r_(r) {}
    ~Result() { PQclear(r_); }
    Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    PGresult* get() const { return r_; }
    int rows() const { return PQntuples(r_); }
    bool null(int row, int c) const { return PQgetisnull(r_, row, c); }
    std::string text(int row, int c) const { return std::string(PQgetvalue(r_, row, c), size_t(PQgetlength(r_, row, c))); }
    int64_t i64(int row, int c) const { return null(row, c) ? 0 : std::stoll(text(row, c)); }
    double f64(int row, int c) const { return null(row, c) ? 0.0 : std::stod(text(row, c)); }
    std::optional<double> opt_f64(int row, int c) const {
        if (null(row, c)) return std::nullopt;
        return f64(row, c);
    }
    // Row i as the decoders of ledger/queries.h read it.
    struct RowRef {
        const Result& res;
        int i;
        std::string text(int c) const { return res.text(i, c); }
        int64_t i64(int c) const { return res.i64(i, c); }
        double f64(int c) const { return res.f64(i, c); }
        std::optional<double> opt_f64(int c) const { return res.opt_f64(i, c); }
    };
    RowRef row(int i) const { return {*this, i}; }

private:
    PGresult* r_;
};

class Connection {
public:
    Connection(const std::string& url, const std::string& shown) : shown_(shown) {
        // Defaults first: the URL's own parameters (expanded in dbname's place) override them.
        const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
        const char* values[] = {"10", "kinglet", url.c_str(), nullptr};
        c_ = PQconnectdbParams(keys, values, 1);
        if (PQstatus(c_) != CONNECTION_OK) {
            const std::string msg = trimmed(PQerrorMessage(c_));
            PQfinish(c_);
            fail(Errc::io, "ledger {}: cannot connect to PostgreSQL: {}", shown, msg);
        }
        // Messages from the server (NOTICE: relation exists...) are not ours to print.
        PQsetNoticeProcessor(c_, [](void*, const char*) {}, nullptr);
    }
    ~Connection() { PQfinish(c_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Result exec(const std::string& sql, const std::vector<Param>& params, std::string_view doing) {
        std::vector<const char*> values;
        for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
        Result r(PQexecParams(c_, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
        check(r, doing);
        return r;
    }
    Result exec(const std::string& sql, std::string_view doing) { return exec(sql, {}, doing); }

    bool broken() const { return PQstatus(c_) == CONNECTION_BAD; }
    void reset() {
        PQreset(c_);
        if (PQstatus(c_) != CONNECTION_OK)
            fail(Errc::io, "ledger {}: lost the PostgreSQL connection and cannot reconnect: {}", shown_,
                 trimmed(PQerrorMessage(c_)));
    }
    const std::string& shown() const { return shown_; }

private:
    void check(const Result& r, std::string_view doing);

    std::string shown_;
    PGconn* c_ = nullptr;
};

void Connection::check(const Result& r, std::string_view doing) {
    const auto st = PQresultStatus(r.get());
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return;
    const std::string msg = trimmed(r.get() ? PQresultErrorMessage(r.get()) : PQerrorMessage(c_));
    fail(broken() ? Errc::io : Errc::internal, "ledger {}: {} while {}", shown_, msg.empty() ? "PostgreSQL error" : msg,
         doing);
}

// Rolls back unless committed, so an error leaves the connection outside any transaction.
struct Transaction {
    Connection& c;
    bool open = true;
    Transaction(Connection& conn, std::string_view doing) : c(conn) { c.exec("BEGIN", doing); }
    void commit(std::string_view doing) {
        c.exec("COMMIT", doing);
        open = false;
    }
    ~Transaction() {
        if (open && !c.broken()) {
            try {
                c.exec("ROLLBACK", "rolling back");
            } catch (const Error&) {
            }
        }
    }
};

// Runs op; if it failed because the connection broke, reconnects and runs it once more. (A batch
// whose COMMIT reached the server but whose acknowledgement was lost would then be written twice;
// the rows keep their response ids, so such a rare duplicate is visible, never silent loss.)
template <typename Op>
auto retrying(Connection& c, Op op) {
    try {
        return op();
    } catch (const Error&) {
        if (!c.broken()) throw;
    }
    c.reset();
    return op();
}

void migrate(Connection& c) {
    Transaction t(c, "starting the schema migration");
    c.exec(kMigrationLock, "waiting for the migration lock");
    const bool has_version = c.exec("SELECT to_regclass('schema_version') IS NOT NULL", "reading the schema")
                                 .text(0, 0) == "t";
    if (!has_version) {
        for (const char* table : {"requests", "attempts"})
            if (c.exec(fmt::format("SELECT to_regclass('{}') IS NOT NULL", table), "reading the schema").text(0, 0) == "t")
                fail(Errc::invalid_file,
                     "ledger {}: the database has a table '{}' but no schema_version: not a kinglet ledger (use "
                     "another database or schema, e.g. ?options=-csearch_path%3Dkinglet)",
                     c.shown(), table);
        c.exec("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_ms BIGINT NOT NULL, what TEXT NOT NULL)",
               "creating schema_version");
    }
    const int version =
        int(c.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version", "reading the schema version").i64(0, 0));
    if (version > latest_schema_version())
        fail(Errc::unsupported, "ledger {}: schema version {} is newer than this kinglet knows (up to {}); use a newer kinglet",
             c.shown(), version, latest_schema_version());
    for (const Migration& m : migrations(Dialect::postgres)) {
        if (m.version <= version) continue;
        for (const std::string& sql : m.statements) c.exec(sql, fmt::format("migrating to schema version {}", m.version));
        c.exec("INSERT INTO schema_version (version, applied_ms, what) VALUES ($1, $2, $3)",
               {std::to_string(m.version), std::to_string(now_ms()), std::string(m.what)}, "recording the schema version");
    }
    t.commit("committing the schema migration");
}

std::string num(int64_t v) { return std::to_string(v); }
// Shortest text that parses back to the same double.
std::string num(double v) { return fmt::format("{}", v); }
Param num(const std::optional<double>& v) { return v ? Param(num(*v)) : std::nullopt; }

std::vector<Param> filter_params(const Query& q) {
    return {num(q.from_ms), num(q.to_ms), q.tenant, q.route};
}

class PostgresLedger final : public Ledger {
public:
    explicit PostgresLedger(const std::string& url)
        : shown_(redact_ledger_url(url)), writer_conn_(url, shown_), reader_(url, shown_) {
        migrate(writer_conn_);
        insert_request_ = fmt::format(
            "INSERT INTO requests ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
            "$17, $18, $19) RETURNING seq",
            kRequestColumns);
        insert_attempt_ = fmt::format(
            "INSERT INTO attempts (request_seq, idx, {}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            kAttemptColumns);
        committer_ = std::make_unique<GroupCommitter>([this](const auto& batch) {
            retrying(writer_conn_, [&] {
                commit(batch);
                return 0;
            });
        });
    }
    ~PostgresLedger() override { committer_.reset(); }

    void append(const Record& r) override {
        check_storable(r);
        committer_->submit(r);
    }

    double remote_spend_usd(const std::string& tenant, int64_t from_ms, int64_t to_ms) override {
        std::lock_guard lock(read_mutex_);
        return retrying(reader_, [&] {
            return reader_.exec(remote_spend_sql(Dialect::postgres), {tenant, num(from_ms), num(to_ms)},
                                "reading the remote spend")
                .f64(0, 0);
        });
    }

    std::vector<Record> records(const Query& q) override {
        std::lock_guard lock(read_mutex_);
        return retrying(reader_, [&] { return read_records(q); });
    }

    std::vector<Usage> usage(const Query& q, GroupBy by) override {
        std::lock_guard lock(read_mutex_);
        const Result r = retrying(reader_, [&] {
            return reader_.exec(usage_sql(Dialect::postgres, by), filter_params(q), "summing usage");
        });
        std::vector<Usage> out;
        for (int i = 0; i < r.rows(); ++i) {
            Usage u = usage_from_row(r.row(i), by);
            if (u.requests > 0) out.push_back(std::move(u));
        }
        return out;
    }

    std::vector<ProviderUsage> provider_usage(const Query& q) override {
        std::lock_guard lock(read_mutex_);
        const Result r = retrying(reader_, [&] {
            return reader_.exec(provider_usage_sql(Dialect::postgres), filter_params(q), "summing provider usage");
        });
        std::vector<ProviderUsage> out;
        for (int i = 0; i < r.rows(); ++i) {
            out.push_back(provider_usage_from_row(r.row(i)));
        }
        return out;
    }

    std::string url() const override { return shown_; }

private:
    std::vector<Record> read_records(const Query& q) {
        // REPEATABLE READ: both queries see one snapshot, so every attempt belongs to a record read.
        Transaction t(reader_, "reading records");
        reader_.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "reading records");
        const Result rs = reader_.exec(records_sql(Dialect::postgres), filter_params(q), "reading records");
        std::vector<Record> out;
        out.reserve(size_t(rs.rows()));
        std::unordered_map<int64_t, size_t> by_seq;
        for (int i = 0; i < rs.rows(); ++i) {
            by_seq[rs.i64(i, 0)] = out.size();
            out.push_back(record_from_row(rs.row(i)));
        }
        const Result as = reader_.exec(attempts_sql(Dialect::postgres), filter_params(q), "reading attempts");
        for (int i = 0; i < as.rows(); ++i) {
            const auto it = by_seq.find(as.i64(i, 0));
            if (it == by_seq.end()) continue;
            out[it->second].attempts.push_back(attempt_from_row(as.row(i)));
        }
        t.commit("reading records");
        return out;
    }

    void commit(const std::vector<const Record*>& batch) {
        Transaction t(writer_conn_, "appending records");
        for (const Record* r : batch) {
            const Result seq = writer_conn_.exec(
                insert_request_,
                {r->id, num(r->time_ms), r->tenant, r->key_id, r->route, r->endpoint, r->provider,
                 num(int64_t(r->escalated)), num(int64_t(r->budget_limited)), num(r->confidence), r->signal,
                 num(int64_t(r->prompt_tokens)), num(int64_t(r->completion_tokens)), num(r->cost_usd),
                 num(r->remote_cost_usd), num(r->latency_ms), num(r->ttft_ms), num(int64_t(r->status)),
                 r->finish_reason},
                "appending a record");
            const std::string request_seq = seq.text(0, 0);
            for (size_t i = 0; i < r->attempts.size(); ++i) {
                const Attempt& a = r->attempts[i];
                writer_conn_.exec(insert_attempt_,
                                  {request_seq, num(int64_t(i)), a.provider, a.outcome, num(int64_t(a.prompt_tokens)),
                                   num(int64_t(a.completion_tokens)), num(a.cost_usd), num(a.latency_ms),
                                   num(a.confidence), a.error},
                                  "appending an attempt");
            }
        }
        t.commit("committing records");
    }

    std::string shown_;
    Connection writer_conn_;
    std::string insert_request_, insert_attempt_;
    std::unique_ptr<GroupCommitter> committer_;
    std::mutex read_mutex_;
    Connection reader_;
};

}  // namespace

std::unique_ptr<Ledger> open_postgres_ledger(const std::string& url) {
    return std::make_unique<PostgresLedger>(url);
}

}  // namespace kinglet::ledger
