// Eval datasets: JSONL or CSV files of cases, read one row at a time so memory stays bounded however
// many cases the file holds.
//
// A case has an input — a text field, or a `messages` array of {role, content} — and usually an
// expected output (a label, a JSON object, or a reference text). Field names are mapped by FieldMap.
// CSV follows RFC 4180: the first record is the header, fields may be quoted with `"`, a quoted field
// may hold commas, newlines and doubled quotes (`""`); CSV values are strings, except a `messages`
// column, which must hold a JSON array. A row that cannot be read (bad JSON, missing field, wrong
// number of CSV fields, unterminated quote) is skipped and recorded with its line number — the caller
// reports it; nothing is dropped silently. Blank lines are not rows.
#pragma once
#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace kinglet::eval {

enum class Format { jsonl, csv };
// From the file name: .csv is CSV, anything else JSONL.
Format format_from_path(const std::string& path);

struct FieldMap {
    std::string input = "input";        // text input
    std::string messages = "messages";  // or a chat: array of {role, content}; preferred when present
    std::string expected = "expected";  // empty: cases carry no expected output
    std::string id = "id";              // optional; default "line:N"
};

struct Case {
    uint64_t line = 0;  // first line of the row in the file (1-based)
    std::string id;
    std::string input;                  // the text input ("" when the case has messages)
    nlohmann::ordered_json messages;    // null, or the messages array
    nlohmann::ordered_json expected;    // null when the map has no expected field
    nlohmann::ordered_json row;         // the whole row as an object (template context)
};

struct BadRow {
    uint64_t line = 0;
    std::string message;
};

class DatasetReader {
public:
    // Opens `path`; throws Error(not_found) when it cannot be opened and Error(invalid_file) for a CSV
    // file without a header.
    DatasetReader(const std::string& path, FieldMap map, std::optional<Format> format = std::nullopt);
    // Reads from a stream (`name` is used in messages).
    DatasetReader(std::istream& in, std::string name, Format format, FieldMap map);
    ~DatasetReader();

    // The next good case; false at the end. Bad rows on the way are recorded.
    bool next(Case& out);

    // The first max_kept bad rows, and how many there were in all.
    const std::vector<BadRow>& bad_rows() const { return bad_; }
    uint64_t bad_count() const { return bad_count_; }
    const std::string& name() const { return name_; }

    static constexpr size_t max_kept = 1000;
    static constexpr size_t max_row_bytes = 16u << 20;  // a longer row is a bad row

private:
    void read_header();
    bool next_jsonl(Case& out);
    bool next_csv(Case& out);
    // One CSV record into fields; false at end of input. Throws BadRecord for a malformed record.
    bool read_record(std::vector<std::string>& fields, uint64_t& start_line);
    bool finish_case(nlohmann::ordered_json row, uint64_t line, Case& out);
    void bad(uint64_t line, std::string message);

    std::unique_ptr<std::ifstream> file_;
    std::istream* in_;
    std::string name_;
    Format format_;
    FieldMap map_;
    uint64_t line_ = 0;  // lines consumed so far
    std::vector<std::string> header_;
    std::vector<BadRow> bad_;
    uint64_t bad_count_ = 0;
};

// Deterministic splits: a case's split depends only on its id and the seed (so appending rows or
// reordering the file moves no case between splits). Fractions are normalised to sum to 1.
enum class Split { train, calibration, test };
const char* split_name(Split s);
struct SplitSpec {
    double train = 0, calibration = 0.5, test = 0.5;
    uint64_t seed = 1;
};
Split assign_split(const std::string& case_id, const SplitSpec& spec);
uint64_t case_hash(const std::string& case_id, uint64_t seed);  // FNV-1a mixed with the seed

// The stratum of a case for stratified sampling: its expected value as compact JSON text.
std::string stratum_of(const Case& c);

// Chooses `limit` cases from a dataset (reading it twice, memory O(limit + strata)) so each stratum
// (expected label) keeps its share of the cases that `keep` accepts (largest-remainder rounding);
// within a stratum the cases with the smallest case_hash(id, seed) are taken. Returns their line numbers.
template <typename Keep>
std::unordered_set<uint64_t> stratified_sample(const std::string& path, const FieldMap& map,
                                               std::optional<Format> format, size_t limit, uint64_t seed,
                                               Keep keep);

}  // namespace kinglet::eval

#include "eval/dataset_stratified.h"
