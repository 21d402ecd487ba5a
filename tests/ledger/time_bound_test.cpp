// --from/--to parsing; expected values from `date -u -d ... +%s`.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ledger/cost_report.h"
#include "ledger/ledger.h"

namespace kinglet::ledger {
namespace {

TEST(TimeBound, DatesMonthsAndTimes) {
    EXPECT_EQ(parse_time_bound("2025-12-03", false), 1764720000000);
    EXPECT_EQ(parse_time_bound("2025-12-03", true), 1764720000000 + 86400000);  // the whole day
    EXPECT_EQ(parse_time_bound("2025-12", false), 1764547200000);
    EXPECT_EQ(parse_time_bound("2025-12", true), 1767225600000);  // through December 31
    EXPECT_EQ(parse_time_bound("2025-12-03T12:30Z", false), 1764765000000);
    EXPECT_EQ(parse_time_bound("2025-12-03 12:30", true), 1764765000000);  // a time is exclusive as is
    EXPECT_EQ(parse_time_bound("2025-12-03T12:30:07Z", false), 1764765007000);
    EXPECT_EQ(parse_time_bound("2024-02-29", false), 1709164800000);
    EXPECT_EQ(parse_time_bound("1969-12-31T23:59:59", false), -1000);
}

TEST(TimeBound, RejectsWhatIsNotADate) {
    for (const char* bad : {"", "2025", "2025-1-01", "2025-13-01", "2025-02-29", "2025-12-00", "2025-12-32",
                            "2025-12-03T24:00", "2025-12-03T12:60", "2025-12-03T12", "2025-12-03x", "yesterday",
                            "2025-12-03T12:30:07+02:00", "2025-12-03T12:30:61"})
        EXPECT_THROW(parse_time_bound(bad, false), Error) << bad;
}

TEST(TimeBound, FormatUtc) {
    EXPECT_EQ(format_utc(1764547200000), "2025-12-01T00:00:00Z");
    EXPECT_EQ(format_utc(1764765007250), "2025-12-03T12:30:07.250Z");
    EXPECT_EQ(format_utc(-1000), "1969-12-31T23:59:59Z");
    EXPECT_EQ(utc_day(-1), "1969-12-31");
    EXPECT_EQ(utc_day(1764720000000 + 86399999), "2025-12-03");
}

}  // namespace
}  // namespace kinglet::ledger
