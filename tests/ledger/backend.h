// Fresh, empty ledgers of each backend for the tests: a file in a temporary folder for SQLite; a new
// database in a throwaway PostgreSQL cluster (initdb + pg_ctl from Debian's postgresql package, on a
// Unix socket in a temporary folder, as user nobody when the tests run as root) for PostgreSQL.
// Without PostgreSQL binaries the PostgreSQL tests fail under CI=true and are skipped otherwise.
#pragma once
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace kinglet::test {

inline std::filesystem::path make_temp_dir(const char* prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

inline int run_shell(const std::string& cmd) { return std::system(cmd.c_str()); }

class PgCluster {
public:
    static PgCluster& instance() {
        static PgCluster c;
        return c;
    }
    const std::string& unavailable() const { return why_not_; }

    // A new empty database; returns its postgresql:// URL.
    std::string create_database() {
        static std::atomic<int> n{0};
        const std::string name = "ledger_test_" + std::to_string(getpid()) + "_" + std::to_string(n++);
        exec("postgres", "CREATE DATABASE " + name);
        return url(name);
    }
    std::string url(const std::string& db) const {
        return "postgresql:///" + db + "?host=" + dir_.string() + "&port=5432&user=kinglet";
    }
    // Runs SQL directly with libpq (for tests that prepare a database by hand).
    void exec(const std::string& db, const std::string& sql) const {
        PGconn* c = PQconnectdb(url(db).c_str());
        std::string err;
        if (PQstatus(c) != CONNECTION_OK) err = PQerrorMessage(c);
        else {
            PGresult* r = PQexec(c, sql.c_str());
            const auto st = PQresultStatus(r);
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQerrorMessage(c);
            PQclear(r);
        }
        PQfinish(c);
        if (!err.empty()) throw std::runtime_error("PostgreSQL: " + err + " (" + sql + ")");
    }

private:
    PgCluster() {
        std::filesystem::path bin;
        if (std::filesystem::exists("/usr/lib/postgresql"))
            for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql"))
                if (std::filesystem::exists(e.path() / "bin/initdb") && (bin.empty() || e.path() / "bin" > bin))
                    bin = e.path() / "bin";
        if (bin.empty()) {
            why_not_ = "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb); install Debian's "
                       "'postgresql' package (scripts/deps.sh does)";
            return;
        }
        dir_ = make_temp_dir("kinglet-pg");
        // PostgreSQL refuses to run as root: run it as nobody, in a folder nobody owns.
        std::string as;
        if (geteuid() == 0) {
            if (run_shell("chown nobody:nogroup " + dir_.string()) != 0) {
                why_not_ = "cannot chown the cluster folder to nobody";
                return;
            }
            as = "setpriv --reuid=nobody --regid=nogroup --clear-groups -- ";
        }
        pg_ctl_ = as + (bin / "pg_ctl").string() + " -D " + (dir_ / "data").string();
        const std::string log = (dir_ / "server.log").string();
        if (run_shell(as + (bin / "initdb").string() + " -D " + (dir_ / "data").string() +
                      " -U kinglet --auth=trust --no-sync -E UTF8 --no-locale >" + (dir_ / "initdb.log").string() +
                      " 2>&1") != 0) {
            why_not_ = "initdb failed: " + slurp(dir_ / "initdb.log");
            return;
        }
        if (run_shell(pg_ctl_ + " -l " + log + " -w -t 60 -o \"-k " + dir_.string() +
                      " -p 5432 -c listen_addresses='' -c fsync=off\" start >/dev/null 2>&1") != 0) {
            why_not_ = "pg_ctl start failed: " + slurp(log);
            return;
        }
        started_ = true;
    }
    ~PgCluster() {
        if (started_) run_shell(pg_ctl_ + " -m immediate stop >/dev/null 2>&1");
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    static std::string slurp(const std::filesystem::path& p) {
        std::ifstream f(p);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }

    std::filesystem::path dir_;
    std::string pg_ctl_, why_not_;
    bool started_ = false;
};

inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

// A fresh, empty ledger URL of `backend` ("sqlite" or "postgres"). Skips (or, in CI, fails) the
// calling test when PostgreSQL is unavailable: use through KINGLET_FRESH_LEDGER_URL.
class FreshLedger {
public:
    explicit FreshLedger(const std::string& backend) : backend_(backend) {
        if (backend == "sqlite") {
            dir_ = make_temp_dir("kinglet-ledger");
            url_ = "sqlite://" + (dir_ / "ledger.db").string();
        } else {
            auto& pg = PgCluster::instance();
            if (!pg.unavailable().empty()) {
                skip_reason_ = "PostgreSQL tests need a server: " + pg.unavailable();
                return;
            }
            url_ = pg.create_database();
        }
    }
    ~FreshLedger() {
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    const std::string& url() const { return url_; }
    const std::string& skip_reason() const { return skip_reason_; }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::string backend_, url_, skip_reason_;
    std::filesystem::path dir_;
};

}  // namespace kinglet::test

// Declares `fresh` (a kinglet::test::FreshLedger) for the test's backend, or ends the test: failed in
// CI, skipped elsewhere, when the backend is unavailable.
#define KINGLET_FRESH_LEDGER(fresh, backend)                                      \
    kinglet::test::FreshLedger fresh(backend);                                    \
    if (!fresh.skip_reason().empty()) {                                           \
        if (kinglet::test::in_ci()) FAIL() << fresh.skip_reason() << " (CI=true)"; \
        GTEST_SKIP() << fresh.skip_reason();                                      \
    }
