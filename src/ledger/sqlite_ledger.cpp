// The SQLite ledger: one file in WAL mode. A writer connection used by one group-commit leader at a time and a
// reader connection behind a mutex; WAL lets readers (budgets, `kinglet cost`, other processes) run
// while a batch commits. synchronous=NORMAL: a WAL commit has reached the OS when COMMIT returns, so
// it survives the process being killed (not a power loss, which would need FULL). Checkpoints (copying
// the WAL into the database file, with an fsync of each) run on a background thread of their own
// connection, never inside a commit: SQLite's automatic checkpoint would run in whichever request's
// commit crossed 1000 pages and hold that response for milliseconds.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "ledger/backends.h"
#include "ledger/group_commit.h"
#include "ledger/queries.h"
#include "ledger/schema.h"

namespace kinglet::ledger {
namespace {

constexpr int kBusyTimeoutMs = 30000;
constexpr auto kCheckpointEvery = std::chrono::milliseconds(500);

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

[[noreturn]] void sqlite_fail(const std::string& url, sqlite3* db, int rc, std::string_view doing) {
    const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
            fail(Errc::invalid_file, "ledger {}: not a usable SQLite database ({}) while {}", url, msg, doing);
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            fail(Errc::io, "ledger {}: database stayed locked by another connection for {} s while {}", url,
                 kBusyTimeoutMs / 1000, doing);
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_PERM:
        case SQLITE_AUTH:
            fail(Errc::io, "ledger {}: {} while {}", url, msg, doing);
        default: fail(Errc::internal, "ledger {}: SQLite error {} ({}) while {}", url, rc, msg, doing);
    }
}

class Stmt {
public:
    Stmt(const std::string& url, sqlite3* db, const std::string& sql) : url_(url), db_(db) {
        const int rc = sqlite3_prepare_v3(db, sql.c_str(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
        if (rc != SQLITE_OK) sqlite_fail(url, db, rc, "preparing a statement");
    }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    void reset() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    void bind(int i, int64_t v) { check(sqlite3_bind_int64(s_, i, v)); }
    void bind(int i, double v) { check(sqlite3_bind_double(s_, i, v)); }
    void bind(int i, const std::string& v) { check(sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_STATIC)); }
    void bind(int i, const std::optional<double>& v) { v ? bind(i, *v) : check(sqlite3_bind_null(s_, i)); }
    void bind(int i, const std::optional<std::string>& v) { v ? bind(i, *v) : check(sqlite3_bind_null(s_, i)); }
    // true while a row is available
    bool step(std::string_view doing) {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        sqlite_fail(url_, db_, rc, doing);
    }
    int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
    double f64(int c) const { return sqlite3_column_double(s_, c); }
    std::optional<double> opt_f64(int c) const {
        if (sqlite3_column_type(s_, c) == SQLITE_NULL) return std::nullopt;
        return f64(c);
    }
    std::string text(int c) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
        return p ? std::string(p, size_t(sqlite3_column_bytes(s_, c))) : std::string();
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) sqlite_fail(url_, db_, rc, "binding a value");
    }
    const std::string& url_;
    sqlite3* db_;
    sqlite3_stmt* s_ = nullptr;
};

class Connection {
public:
    Connection(const std::string& url, const std::string& path) : url_(url) {
        const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                                SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                                       nullptr);
        if (rc != SQLITE_OK) {
            const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            sqlite3_close(db_);
            const auto parent = std::filesystem::path(path).parent_path();
            if (!parent.empty() && !std::filesystem::is_directory(parent))
                fail(Errc::io, "ledger {}: cannot create the file: folder '{}' does not exist", url, parent.string());
            fail(Errc::io, "ledger {}: cannot open '{}' ({})", url, path, msg);
        }
        sqlite3_busy_timeout(db_, kBusyTimeoutMs);
        if (sqlite3_db_readonly(db_, "main") == 1) {
            sqlite3_close(db_);
            fail(Errc::io, "ledger {}: the file is read-only; the ledger must be writable", url);
        }
    }
    ~Connection() { sqlite3_close(db_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void exec(const std::string& sql, std::string_view doing) {
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) sqlite_fail(url_, db_, rc, doing);
    }
    // The first column of the first row, as text ("" when no row).
    std::string scalar(const std::string& sql, std::string_view doing) {
        Stmt s(url_, db_, sql);
        return s.step(doing) ? s.text(0) : std::string();
    }
    sqlite3* get() const { return db_; }
    const std::string& url() const { return url_; }

private:
    std::string url_;
    sqlite3* db_ = nullptr;
};

// Rolls back an open transaction unless committed (so an error leaves the connection usable).
struct Transaction {
    Connection& c;
    bool open = true;
    Transaction(Connection& conn, const char* begin, std::string_view doing) : c(conn) { c.exec(begin, doing); }
    void commit(std::string_view doing) {
        c.exec("COMMIT", doing);
        open = false;
    }
    ~Transaction() {
        if (open) sqlite3_exec(c.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
};

// Switching a new file to WAL mode needs an exclusive lock. When several connections (threads or
// processes) open a new file at once, one may ask for that lock while holding a shared lock another
// waits on; SQLite then returns SQLITE_BUSY at once rather than call the busy handler (waiting could
// deadlock). So the switch is retried here, within the same limit as every other lock wait.
// Fails with SQLITE_NOTADB on a file that is not a database: the first statement reads the header.
std::string switch_to_wal(Connection& c) {
    using namespace std::chrono;
    const auto deadline = steady_clock::now() + milliseconds(kBusyTimeoutMs);
    for (int attempt = 1;; ++attempt) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v2(c.get(), "PRAGMA journal_mode=WAL", -1, &s, nullptr);
        if (rc == SQLITE_OK) rc = sqlite3_step(s);
        std::string mode;
        if (rc == SQLITE_ROW)
            if (const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) mode = p;
        sqlite3_finalize(s);
        if (rc == SQLITE_ROW) return mode;
        if ((rc & 0xff) != SQLITE_BUSY || steady_clock::now() >= deadline)
            sqlite_fail(c.url(), c.get(), rc, "switching to WAL mode");
        std::this_thread::sleep_for(milliseconds(std::min(attempt, 20)));
    }
}

void configure(Connection& c) {
    const std::string mode = switch_to_wal(c);
    if (mode != "wal")
        fail(Errc::unsupported, "ledger {}: cannot use WAL journal mode here (SQLite kept '{}')", c.url(), mode);
    c.exec("PRAGMA synchronous=NORMAL", "setting synchronous=NORMAL");
    c.exec("PRAGMA wal_autocheckpoint=0", "handing checkpoints to the background");
}

void migrate(Connection& c) {
    // IMMEDIATE takes the write lock first, so two processes opening a new file at once serialize here
    // and the second sees the first one's version.
    Transaction t(c, "BEGIN IMMEDIATE", "starting the schema migration");
    const bool has_version = !c.scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
                                       "reading the schema")
                                  .empty();
    if (!has_version) {
        const std::string other = c.scalar("SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 1", "reading the schema");
        if (!other.empty())
            fail(Errc::invalid_file, "ledger {}: a SQLite database but not a kinglet ledger (table '{}', no schema_version)",
                 c.url(), other);
        c.exec("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_ms INTEGER NOT NULL, what TEXT NOT NULL)",
               "creating schema_version");
    }
    const int version = std::stoi(c.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version", "reading the schema version"));
    if (version > latest_schema_version())
        fail(Errc::unsupported, "ledger {}: schema version {} is newer than this kinglet knows (up to {}); use a newer kinglet",
             c.url(), version, latest_schema_version());
    for (const Migration& m : migrations(Dialect::sqlite)) {
        if (m.version <= version) continue;
        for (const std::string& sql : m.statements) c.exec(sql, fmt::format("migrating to schema version {}", m.version));
        Stmt ins(c.url(), c.get(), "INSERT INTO schema_version (version, applied_ms, what) VALUES (?1, ?2, ?3)");
        ins.bind(1, int64_t(m.version));
        ins.bind(2, now_ms());
        ins.bind(3, std::string(m.what));
        ins.step("recording the schema version");
    }
    t.commit("committing the schema migration");
}

// The Query's filter as the four parameters every read query takes.
void bind_filter(Stmt& s, const Query& q) {
    s.bind(1, q.from_ms);
    s.bind(2, q.to_ms);
    s.bind(3, q.tenant);
    s.bind(4, q.route);
}

class SqliteLedger final : public Ledger {
public:
    SqliteLedger(const std::string& url, const std::string& path)
        : url_(url), writer_conn_(url, path), checkpoint_conn_(url, path), reader_(url, path) {
        configure(writer_conn_);
        migrate(writer_conn_);
        insert_request_ = std::make_unique<Stmt>(
            url_, writer_conn_.get(),
            fmt::format("INSERT INTO requests ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                        "?14, ?15, ?16, ?17, ?18, ?19)",
                        kRequestColumns));
        insert_attempt_ = std::make_unique<Stmt>(
            url_, writer_conn_.get(),
            fmt::format("INSERT INTO attempts (request_seq, idx, {}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        kAttemptColumns));
        committer_ = std::make_unique<GroupCommitter>([this](const auto& batch) { commit(batch); });
        // A connection learns the file is in WAL mode on its first read; until then a checkpoint is a no-op.
        checkpoint_conn_.scalar("PRAGMA journal_mode", "opening the checkpoint connection");
        checkpointer_ = std::thread([this] { checkpoint_loop(); });
    }
    ~SqliteLedger() override {
        {
            std::lock_guard lock(stop_mutex_);
            stop_ = true;
        }
        stop_cv_.notify_all();
        checkpointer_.join();
        committer_.reset();  // before the statements its commits use
        insert_request_.reset();
        insert_attempt_.reset();
    }

    void append(const Record& r) override {
        check_storable(r);
        committer_->submit(r);
    }

    double remote_spend_usd(const std::string& tenant, int64_t from_ms, int64_t to_ms) override {
        std::lock_guard lock(read_mutex_);
        Stmt s(url_, reader_.get(), remote_spend_sql(Dialect::sqlite));
        s.bind(1, tenant);
        s.bind(2, from_ms);
        s.bind(3, to_ms);
        return s.step("reading the remote spend") ? s.f64(0) : 0.0;
    }

    std::vector<Record> records(const Query& q) override {
        std::lock_guard lock(read_mutex_);
        Transaction t(reader_, "BEGIN", "reading records");  // one snapshot for both queries
        std::vector<Record> out;
        std::unordered_map<int64_t, size_t> by_seq;
        Stmt rs(url_, reader_.get(), records_sql(Dialect::sqlite));
        bind_filter(rs, q);
        while (rs.step("reading records")) {
            by_seq[rs.i64(0)] = out.size();
            out.push_back(record_from_row(rs));
        }
        Stmt as(url_, reader_.get(), attempts_sql(Dialect::sqlite));
        bind_filter(as, q);
        while (as.step("reading attempts")) {
            const auto it = by_seq.find(as.i64(0));
            if (it == by_seq.end()) continue;
            out[it->second].attempts.push_back(attempt_from_row(as));
        }
        t.commit("reading records");
        return out;
    }

    std::vector<Usage> usage(const Query& q, GroupBy by) override {
        std::lock_guard lock(read_mutex_);
        Stmt s(url_, reader_.get(), usage_sql(Dialect::sqlite, by));
        bind_filter(s, q);
        std::vector<Usage> out;
        while (s.step("summing usage")) {
            Usage u = usage_from_row(s, by);
            if (u.requests > 0) out.push_back(std::move(u));
        }
        return out;
    }

    std::vector<ProviderUsage> provider_usage(const Query& q) override {
        std::lock_guard lock(read_mutex_);
        Stmt s(url_, reader_.get(), provider_usage_sql(Dialect::sqlite));
        bind_filter(s, q);
        std::vector<ProviderUsage> out;
        while (s.step("summing provider usage")) {
            out.push_back(provider_usage_from_row(s));
        }
        return out;
    }

    std::string url() const override { return url_; }

private:
    void commit(const std::vector<const Record*>& batch) {
        Transaction t(writer_conn_, "BEGIN IMMEDIATE", "appending records");
        Stmt& rq = *insert_request_;
        Stmt& at = *insert_attempt_;
        for (const Record* r : batch) {
            rq.reset();
            rq.bind(1, r->id);
            rq.bind(2, r->time_ms);
            rq.bind(3, r->tenant);
            rq.bind(4, r->key_id);
            rq.bind(5, r->route);
            rq.bind(6, r->endpoint);
            rq.bind(7, r->provider);
            rq.bind(8, int64_t(r->escalated));
            rq.bind(9, int64_t(r->budget_limited));
            rq.bind(10, r->confidence);
            rq.bind(11, r->signal);
            rq.bind(12, int64_t(r->prompt_tokens));
            rq.bind(13, int64_t(r->completion_tokens));
            rq.bind(14, r->cost_usd);
            rq.bind(15, r->remote_cost_usd);
            rq.bind(16, r->latency_ms);
            rq.bind(17, r->ttft_ms);
            rq.bind(18, int64_t(r->status));
            rq.bind(19, r->finish_reason);
            rq.step("appending a record");
            const int64_t seq = sqlite3_last_insert_rowid(writer_conn_.get());
            for (size_t i = 0; i < r->attempts.size(); ++i) {
                const Attempt& a = r->attempts[i];
                at.reset();
                at.bind(1, seq);
                at.bind(2, int64_t(i));
                at.bind(3, a.provider);
                at.bind(4, a.outcome);
                at.bind(5, int64_t(a.prompt_tokens));
                at.bind(6, int64_t(a.completion_tokens));
                at.bind(7, a.cost_usd);
                at.bind(8, a.latency_ms);
                at.bind(9, a.confidence);
                at.bind(10, a.error);
                at.step("appending an attempt");
            }
        }
        rq.reset();
        at.reset();
        t.commit("committing records");
    }

    // A PASSIVE checkpoint copies what no reader still needs and never waits for a lock, so appends
    // go on meanwhile; a failure (the disk, a lock) is retried on the next round, and an append that
    // later finds the database unusable reports it.
    void checkpoint_loop() {
        std::unique_lock lock(stop_mutex_);
        while (!stop_cv_.wait_for(lock, kCheckpointEvery, [this] { return stop_; }))
            sqlite3_wal_checkpoint_v2(checkpoint_conn_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }

    std::string url_;
    Connection writer_conn_;
    Connection checkpoint_conn_;
    std::thread checkpointer_;
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stop_ = false;
    std::unique_ptr<Stmt> insert_request_, insert_attempt_;
    std::unique_ptr<GroupCommitter> committer_;
    std::mutex read_mutex_;
    Connection reader_;
};

}  // namespace

std::unique_ptr<Ledger> open_sqlite_ledger(const std::string& url, const std::string& path) {
    return std::make_unique<SqliteLedger>(url, path);
}

}  // namespace kinglet::ledger
