// SQLite-only behaviour: URL forms, WAL, migration from a file made by hand with an older schema,
// and the errors for files that are not (usable) ledgers.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "ledger/backend.h"
#include "ledger/ledger.h"
#include "ledger/records.h"

namespace kinglet::ledger {
namespace {

// Runs SQL on a file with SQLite directly; returns the first column of the last row.
std::string sql(const std::filesystem::path& file, const std::string& statements) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    std::string last;
    char* err = nullptr;
    const int rc = sqlite3_exec(
        db, statements.c_str(),
        [](void* out, int, char** values, char**) {
            *static_cast<std::string*>(out) = values[0] ? values[0] : "NULL";
            return 0;
        },
        &last, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << statements;
    sqlite3_free(err);
    sqlite3_close(db);
    return last;
}

std::string error_of(const std::string& url) {
    try {
        open_ledger(url);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(SqliteLedger, UrlFormsNameTheSameFile) {
    const auto dir = test::make_temp_dir("kinglet-ledger");
    const auto file = dir / "l.db";
    open_ledger(file.string())->append(test::full_record(1, 1000));
    open_ledger("sqlite://" + file.string())->append(test::full_record(2, 2000));  // sqlite:///abs
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir);
    open_ledger("sqlite://l.db")->append(test::full_record(3, 3000));  // relative
    std::filesystem::current_path(cwd);
    EXPECT_EQ(open_ledger(file.string())->records({}).size(), 3u);
    EXPECT_EQ(sql(file, "PRAGMA journal_mode"), "wal");
    std::filesystem::remove_all(dir);
}

// Appends leave checkpointing to the ledger's background thread (a checkpoint inside a commit would
// hold that request's response): with the ledger still open and no further appends, the database file
// alone — a copy without its -wal file — comes to hold every record.
TEST(SqliteLedger, CheckpointsInTheBackground) {
    const auto dir = test::make_temp_dir("kinglet-ledger");
    const auto file = dir / "l.db", copy = dir / "copy.db";
    auto ledger = open_ledger(file.string());
    for (int i = 0; i < 50; ++i) ledger->append(test::full_record(i + 1, 1000 + i));
    auto rows_in_file_alone = [&]() -> int64_t {
        std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing);
        std::filesystem::remove(dir / "copy.db-wal");
        std::filesystem::remove(dir / "copy.db-shm");
        sqlite3* db = nullptr;
        int64_t n = -1;
        if (sqlite3_open_v2(copy.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
            sqlite3_stmt* st = nullptr;
            if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM requests", -1, &st, nullptr) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
        return n;
    };
    int64_t n = rows_in_file_alone();
    for (int i = 0; i < 200 && n != 50; ++i) {  // up to 10 s: the thread runs every half second
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        n = rows_in_file_alone();
    }
    EXPECT_EQ(n, 50);
    ledger.reset();
    std::filesystem::remove_all(dir);
}

TEST(SqliteLedger, MigratesAVersion1FileMadeByHand) {
    const auto dir = test::make_temp_dir("kinglet-ledger");
    const auto file = dir / "v1.db";
    // Schema version 1 as it was released: the two tables, no indices.
    sql(file,
        "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_ms INTEGER NOT NULL, what TEXT NOT NULL);"
        "INSERT INTO schema_version VALUES (1, 0, 'requests and attempts');"
        "CREATE TABLE requests (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, time_ms INTEGER NOT NULL, tenant TEXT "
        "NOT NULL, key_id TEXT NOT NULL, route TEXT NOT NULL, endpoint TEXT NOT NULL, provider TEXT NOT NULL, "
        "escalated INTEGER NOT NULL, budget_limited INTEGER NOT NULL, confidence REAL, signal TEXT NOT NULL, "
        "prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, "
        "remote_cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, ttft_ms REAL NOT NULL, status INTEGER NOT NULL, "
        "finish_reason TEXT NOT NULL);"
        "CREATE TABLE attempts (request_seq INTEGER NOT NULL REFERENCES requests(seq), idx INTEGER NOT NULL, "
        "provider TEXT NOT NULL, outcome TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER "
        "NOT NULL, cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, confidence REAL, error TEXT NOT NULL, "
        "PRIMARY KEY (request_seq, idx));"
        "INSERT INTO requests VALUES (7, 'old-1', 1700000000000, 'acme', 'k1', 'triage', 'chat', 'large', 1, 0, "
        "NULL, 'label_prob', 100, 5, 0.5, 0.25, 800, 700, 200, 'stop');"
        "INSERT INTO attempts VALUES (7, 0, 'small', 'low_confidence', 100, 1, 0.25, 30, 0.4, '');"
        "INSERT INTO attempts VALUES (7, 1, 'large', 'ok', 100, 5, 0.25, 770, NULL, '');");
    {
        auto l = open_ledger(file.string());
        const auto out = l->records({});
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].id, "old-1");
        EXPECT_EQ(out[0].cost_usd, 0.5);
        ASSERT_EQ(out[0].attempts.size(), 2u);
        EXPECT_EQ(out[0].attempts[0].confidence, 0.4);
        EXPECT_EQ(l->remote_spend_usd("acme", 0, INT64_MAX), 0.25);
        l->append(test::full_record(1, 1700000001000));
    }
    EXPECT_EQ(sql(file, "SELECT MAX(version) FROM schema_version"), "2");
    EXPECT_EQ(sql(file, "SELECT COUNT(*) FROM schema_version"), "2");
    EXPECT_EQ(sql(file, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'requests_%'"), "2");
    // Opening again applies nothing more.
    open_ledger(file.string());
    EXPECT_EQ(sql(file, "SELECT COUNT(*) FROM schema_version"), "2");
    EXPECT_EQ(sql(file, "SELECT COUNT(*) FROM requests"), "2");
    std::filesystem::remove_all(dir);
}

TEST(SqliteLedger, RefusesANewerSchemaThanItKnows) {
    const auto dir = test::make_temp_dir("kinglet-ledger");
    const auto file = dir / "new.db";
    open_ledger(file.string());
    sql(file, "INSERT INTO schema_version VALUES (99, 0, 'from the future')");
    const std::string err = error_of(file.string());
    EXPECT_NE(err.find(file.string()), std::string::npos) << err;
    EXPECT_NE(err.find("schema version 99 is newer"), std::string::npos) << err;
    std::filesystem::remove_all(dir);
}

TEST(SqliteLedger, GarbageAndForeignFilesAreRefusedByName) {
    const auto dir = test::make_temp_dir("kinglet-ledger");
    const auto garbage = dir / "garbage.db";
    std::ofstream(garbage) << std::string(8192, 'x') << "not a database at all";
    std::string err = error_of("sqlite://" + garbage.string());
    EXPECT_NE(err.find("sqlite://" + garbage.string()), std::string::npos) << err;
    EXPECT_NE(err.find("not a usable SQLite database"), std::string::npos) << err;

    const auto foreign = dir / "foreign.db";
    sql(foreign, "CREATE TABLE customers (name TEXT)");
    err = error_of(foreign.string());
    EXPECT_NE(err.find("not a kinglet ledger"), std::string::npos) << err;
    EXPECT_EQ(sql(foreign, "SELECT COUNT(*) FROM sqlite_master"), "1");  // left untouched

    err = error_of((dir / "no-such-folder" / "l.db").string());
    EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
    EXPECT_NE(err.find("no-such-folder"), std::string::npos) << err;

    err = error_of(dir.string());  // a folder
    EXPECT_NE(err.find(dir.string()), std::string::npos) << err;
    std::filesystem::remove_all(dir);
}

TEST(SqliteLedger, TruncatedFileIsRefused) {
    const auto dir = test::make_temp_dir("kinglet-ledger");
    const auto file = dir / "t.db";
    {
        auto l = open_ledger(file.string());
        for (int i = 0; i < 50; ++i) l->append(test::full_record(i, i));
    }
    sql(file, "PRAGMA wal_checkpoint(TRUNCATE)");
    std::filesystem::resize_file(file, 100);  // the header survives, the pages do not
    std::string err;
    try {
        auto l = open_ledger(file.string());
        l->records({});
        err = "(no error)";
    } catch (const Error& e) {
        err = e.what();
    }
    EXPECT_NE(err.find(file.string()), std::string::npos) << err;
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kinglet::ledger
