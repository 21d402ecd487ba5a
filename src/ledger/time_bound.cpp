#include <chrono>
#include <string_view>

#include "core/error.h"
#include "ledger/cost_report.h"

namespace kinglet::ledger {
namespace {

// n digits at s[pos], or -1.
int digits(std::string_view s, size_t pos, size_t n) {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

}  // namespace

int64_t parse_time_bound(const std::string& text, bool upper) {
    using namespace std::chrono;
    const std::string_view s = text;
    auto bad = [&]() -> int64_t {
        fail(Errc::invalid_argument,
             "time '{}' is not YYYY-MM-DD, YYYY-MM or YYYY-MM-DDTHH:MM[:SS][Z] (UTC)", text);
    };
    const int y = digits(s, 0, 4);
    if (y < 0 || s.size() < 7 || s[4] != '-') return bad();
    const int mo = digits(s, 5, 2);
    if (mo < 1 || mo > 12) return bad();
    const year_month ym{year(y), month(unsigned(mo))};
    if (s.size() == 7) {
        const sys_days start{ym / 1};
        const sys_days end{(ym + months(1)) / 1};
        return duration_cast<milliseconds>((upper ? end : start).time_since_epoch()).count();
    }
    if (s.size() < 10 || s[7] != '-') return bad();
    const int d = digits(s, 8, 2);
    const year_month_day ymd{ym / day(unsigned(d < 0 ? 0 : d))};
    if (d < 1 || !ymd.ok()) return bad();
    const sys_days date{ymd};
    if (s.size() == 10)
        return duration_cast<milliseconds>((upper ? date + days(1) : date).time_since_epoch()).count();
    std::string_view t = s.substr(10);
    if (t.back() == 'Z') t.remove_suffix(1);
    if ((t.size() != 6 && t.size() != 9) || (t[0] != 'T' && t[0] != ' ') || t[3] != ':') return bad();
    const int h = digits(t, 1, 2), mi = digits(t, 4, 2);
    int sec = 0;
    if (t.size() == 9) {
        if (t[6] != ':') return bad();
        sec = digits(t, 7, 2);
    }
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return bad();
    const auto tp = date + hours(h) + minutes(mi) + seconds(sec);
    return duration_cast<milliseconds>(tp.time_since_epoch()).count();
}

std::string format_utc(int64_t time_ms) {
    using namespace std::chrono;
    const sys_time<milliseconds> tp{milliseconds(time_ms)};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{tp - day};
    std::string s = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", int(ymd.year()), unsigned(ymd.month()),
                                unsigned(ymd.day()), hms.hours().count(), hms.minutes().count(),
                                hms.seconds().count());
    if (hms.subseconds().count()) s += fmt::format(".{:03d}", hms.subseconds().count());
    return s + "Z";
}

}  // namespace kinglet::ledger
