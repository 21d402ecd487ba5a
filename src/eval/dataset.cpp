#include "eval/dataset.h"

#include <cmath>

#include "core/error.h"
#include "eval/metrics.h"

namespace kinglet::eval {

namespace {
struct BadRecord {
    uint64_t line;
    std::string message;
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool blank(const std::string& s) {
    return s.find_first_not_of(" \t\r\n") == std::string::npos;
}
}  // namespace

Format format_from_path(const std::string& path) {
    std::string lower = path;
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    return ends_with(lower, ".csv") ? Format::csv : Format::jsonl;
}

DatasetReader::DatasetReader(const std::string& path, FieldMap map, std::optional<Format> format)
    : file_(std::make_unique<std::ifstream>(path, std::ios::binary)), in_(file_.get()), name_(path),
      format_(format.value_or(format_from_path(path))), map_(std::move(map)) {
    if (!*file_) fail(Errc::not_found, "{}: cannot open dataset", path);
    read_header();
}

DatasetReader::DatasetReader(std::istream& in, std::string name, Format format, FieldMap map)
    : in_(&in), name_(std::move(name)), format_(format), map_(std::move(map)) {
    read_header();
}

DatasetReader::~DatasetReader() = default;

void DatasetReader::bad(uint64_t line, std::string message) {
    ++bad_count_;
    if (bad_.size() < max_kept) bad_.push_back({line, std::move(message)});
}

void DatasetReader::read_header() {
    if (format_ != Format::csv) return;
    for (;;) {
        uint64_t start = 0;
        try {
            if (!read_record(header_, start)) fail(Errc::invalid_file, "{}: empty CSV file (no header row)", name_);
        } catch (const BadRecord& b) {
            fail(Errc::invalid_file, "{}:{}: bad CSV header: {}", name_, b.line, b.message);
        }
        if (header_.size() == 1 && header_[0].empty()) continue;  // blank line before the header
        break;
    }
    std::unordered_set<std::string> seen;
    for (const auto& h : header_)
        if (!seen.insert(h).second) fail(Errc::invalid_file, "{}: CSV header repeats column '{}'", name_, h);
}

bool DatasetReader::next(Case& out) {
    return format_ == Format::csv ? next_csv(out) : next_jsonl(out);
}

bool DatasetReader::next_jsonl(Case& out) {
    std::string text;
    while (std::getline(*in_, text)) {
        const uint64_t line = ++line_;
        if (text.size() > max_row_bytes) {
            bad(line, fmt::format("row longer than {} bytes", max_row_bytes));
            continue;
        }
        if (blank(text)) continue;
        nlohmann::ordered_json row;
        try {
            row = nlohmann::ordered_json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            bad(line, fmt::format("not valid JSON: {}", e.what()));
            continue;
        }
        if (!row.is_object()) {
            bad(line, fmt::format("a row must be a JSON object, got {}", row.type_name()));
            continue;
        }
        if (finish_case(std::move(row), line, out)) return true;
    }
    return false;
}

bool DatasetReader::read_record(std::vector<std::string>& fields, uint64_t& start_line) {
    fields.clear();
    std::string field;
    size_t bytes = 0;
    int ch = in_->get();
    if (ch == EOF) return false;
    start_line = ++line_;
    bool quoted = false, after_quote = false, in_field_start = true;
    auto fail_rest_of_line = [&](std::string message) {
        // Resynchronise at the next physical line so one bad row does not swallow the file.
        if (ch != '\n') {
            std::string skip;
            std::getline(*in_, skip);
        }
        throw BadRecord{start_line, std::move(message)};
    };
    for (;; ch = in_->get()) {
        if (++bytes > max_row_bytes) fail_rest_of_line(fmt::format("row longer than {} bytes", max_row_bytes));
        if (quoted) {
            if (ch == EOF) throw BadRecord{start_line, "unterminated quoted field (the file ends inside quotes)"};
            if (ch == '"') {
                if (in_->peek() == '"') {
                    in_->get();
                    field += '"';
                } else {
                    quoted = false;
                    after_quote = true;
                }
            } else {
                if (ch == '\n') ++line_;
                field += char(ch);
            }
            continue;
        }
        if (ch == EOF || ch == '\n' || ch == ',') {
            if (!field.empty() && field.back() == '\r' && !after_quote && ch == '\n') field.pop_back();
            fields.push_back(std::move(field));
            field.clear();
            if (ch != ',') return true;
            after_quote = false;
            in_field_start = true;
            continue;
        }
        if (after_quote) {
            if (ch == '\r' && (in_->peek() == '\n' || in_->peek() == EOF)) continue;
            fail_rest_of_line("text after a closing quote (a quote inside a field must be doubled)");
        }
        if (ch == '"') {
            if (!in_field_start) fail_rest_of_line("quote inside an unquoted field (quote the whole field)");
            quoted = true;
            in_field_start = false;
            continue;
        }
        in_field_start = false;
        field += char(ch);
    }
}

bool DatasetReader::next_csv(Case& out) {
    std::vector<std::string> fields;
    for (;;) {
        uint64_t line = 0;
        try {
            if (!read_record(fields, line)) return false;
        } catch (const BadRecord& b) {
            bad(b.line, b.message);
            continue;
        }
        if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
        if (fields.size() != header_.size()) {
            bad(line, fmt::format("{} fields, the header has {}", fields.size(), header_.size()));
            continue;
        }
        nlohmann::ordered_json row = nlohmann::ordered_json::object();
        bool ok = true;
        for (size_t i = 0; i < fields.size(); ++i) {
            if (header_[i] == map_.messages && !fields[i].empty()) {
                try {
                    row[header_[i]] = nlohmann::ordered_json::parse(fields[i]);
                } catch (const nlohmann::json::exception&) {
                    bad(line, fmt::format("column '{}' is not a JSON array", header_[i]));
                    ok = false;
                    break;
                }
            } else {
                row[header_[i]] = fields[i];
            }
        }
        if (ok && finish_case(std::move(row), line, out)) return true;
    }
}

bool DatasetReader::finish_case(nlohmann::ordered_json row, uint64_t line, Case& out) {
    out = Case{};
    out.line = line;
    if (!map_.id.empty() && row.contains(map_.id) && !row[map_.id].is_null()) {
        const auto& id = row[map_.id];
        out.id = id.is_string() ? id.get<std::string>() : id.dump();
    } else {
        out.id = fmt::format("line:{}", line);
    }
    if (!map_.messages.empty() && row.contains(map_.messages) && !row[map_.messages].is_null()) {
        const auto& m = row[map_.messages];
        if (!m.is_array() || m.empty()) {
            bad(line, fmt::format("field '{}' must be a non-empty array of {{role, content}}", map_.messages));
            return false;
        }
        for (const auto& msg : m)
            if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string()) {
                bad(line, fmt::format("field '{}': every message needs a string \"role\"", map_.messages));
                return false;
            }
        out.messages = m;
    } else if (row.contains(map_.input) && row[map_.input].is_string()) {
        out.input = row[map_.input].get<std::string>();
    } else if (row.contains(map_.input)) {
        bad(line, fmt::format("field '{}' must be a string, got {}", map_.input, row[map_.input].type_name()));
        return false;
    } else {
        bad(line, fmt::format("no input: neither field '{}' nor '{}'", map_.input, map_.messages));
        return false;
    }
    if (!map_.expected.empty()) {
        if (!row.contains(map_.expected) || row[map_.expected].is_null()) {
            bad(line, fmt::format("no expected output (field '{}')", map_.expected));
            return false;
        }
        out.expected = row[map_.expected];
    }
    out.row = std::move(row);
    return true;
}

const char* split_name(Split s) {
    switch (s) {
        case Split::train: return "train";
        case Split::calibration: return "calibration";
        case Split::test: return "test";
    }
    return "?";
}

uint64_t case_hash(const std::string& id, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : id) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return mix64(h ^ mix64(seed));
}

Split assign_split(const std::string& id, const SplitSpec& spec) {
    const double total = spec.train + spec.calibration + spec.test;
    if (!(spec.train >= 0 && spec.calibration >= 0 && spec.test >= 0 && total > 0))
        fail(Errc::invalid_argument, "split fractions must be >= 0 and not all 0 (got {}/{}/{})", spec.train,
             spec.calibration, spec.test);
    const double u = double(case_hash(id, spec.seed) >> 11) * 0x1.0p-53 * total;
    if (u < spec.train) return Split::train;
    if (u < spec.train + spec.calibration) return Split::calibration;
    return Split::test;
}

std::string stratum_of(const Case& c) {
    return c.expected.is_string() ? c.expected.get<std::string>() : c.expected.dump();
}

std::map<std::string, size_t> stratum_quotas(const std::map<std::string, uint64_t>& counts, size_t limit) {
    uint64_t total = 0;
    for (const auto& [s, n] : counts) total += n;
    std::map<std::string, size_t> q;
    if (total == 0) return q;
    if (limit >= total) {
        for (const auto& [s, n] : counts) q[s] = size_t(n);
        return q;
    }
    // Largest remainder (Hamilton): floor shares, then the biggest remainders get one more (ties by name).
    std::vector<std::pair<double, std::string>> rem;
    size_t given = 0;
    for (const auto& [s, n] : counts) {
        const double exact = double(limit) * double(n) / double(total);
        q[s] = size_t(std::floor(exact));
        given += q[s];
        rem.emplace_back(exact - std::floor(exact), s);
    }
    std::stable_sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; given < limit && i < rem.size(); ++i, ++given) ++q[rem[i].second];
    return q;
}

}  // namespace kinglet::eval
