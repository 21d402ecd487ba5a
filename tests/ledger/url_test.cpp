#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "ledger/url.h"

namespace kinglet::ledger {
namespace {

TEST(LedgerUrl, Forms) {
    EXPECT_EQ(parse_ledger_url("sqlite:///var/lib/k.db").target, "/var/lib/k.db");
    EXPECT_EQ(parse_ledger_url("sqlite://k.db").target, "k.db");
    EXPECT_EQ(parse_ledger_url("data/k.db").target, "data/k.db");
    EXPECT_EQ(parse_ledger_url("data/k.db").kind, LedgerUrl::Kind::sqlite);
    EXPECT_EQ(parse_ledger_url("postgresql://u@h/db").kind, LedgerUrl::Kind::postgres);
    EXPECT_EQ(parse_ledger_url("postgres://u@h/db?sslmode=require").target, "postgres://u@h/db?sslmode=require");
    for (const char* bad : {"", "sqlite://", "mysql://h/db", "sqlite://x.db?mode=ro"})
        EXPECT_THROW(parse_ledger_url(bad), Error) << bad;
}

TEST(LedgerUrl, RelativeSqlitePathsResolveFromTheConfigFolder) {
    EXPECT_EQ(resolve_ledger_url("sqlite://k.db", "/etc/kinglet"), "sqlite:///etc/kinglet/k.db");
    EXPECT_EQ(resolve_ledger_url("data/../k.db", "/etc/kinglet"), "sqlite:///etc/kinglet/k.db");
    EXPECT_EQ(resolve_ledger_url("sqlite:///abs/k.db", "/etc/kinglet"), "sqlite:///abs/k.db");
    EXPECT_EQ(resolve_ledger_url("postgresql://h/db", "/etc/kinglet"), "postgresql://h/db");
    EXPECT_EQ(resolve_ledger_url("sqlite://k.db", ""), "sqlite://k.db");
}

TEST(LedgerUrl, TheDefaultIsAnAbsoluteSqliteFile) {
    EXPECT_EQ(default_ledger_url("/etc/kinglet"), "sqlite:///etc/kinglet/kinglet-ledger.db");
    EXPECT_EQ(default_ledger_url("/etc/kinglet/../srv/"), "sqlite:///etc/srv/kinglet-ledger.db");
    const std::string here = "sqlite://" + (std::filesystem::current_path() / "kinglet-ledger.db").string();
    EXPECT_EQ(default_ledger_url(""), here);
    EXPECT_EQ(default_ledger_url("."), here);
    EXPECT_EQ(parse_ledger_url(default_ledger_url("/x")).target, "/x/kinglet-ledger.db");
}

}  // namespace
}  // namespace kinglet::ledger

namespace kinglet::ledger {
namespace {

TEST(LedgerUrl, PasswordsAreRedactedForMessages) {
    EXPECT_EQ(redact_ledger_url("postgresql://u:s3cret@h:5432/db"), "postgresql://u:***@h:5432/db");
    EXPECT_EQ(redact_ledger_url("postgresql://u@h/db?password=s3cret&sslmode=require"),
              "postgresql://u@h/db?password=***&sslmode=require");
    EXPECT_EQ(redact_ledger_url("postgres://h/db"), "postgres://h/db");
    EXPECT_EQ(redact_ledger_url("sqlite:///a:b@c/x.db"), "sqlite:///a:b@c/x.db");
}

}  // namespace
}  // namespace kinglet::ledger
