// GGUF writer round trips and the reader's defences against truncated, corrupt and hostile files:
// every case must end in Error naming the file and the field, never a crash or a huge allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"

using namespace kinglet;
using namespace kinglet::gguf;

namespace {

std::vector<uint8_t> sample_file(uint32_t alignment = 32) {
    Writer w;
    w.set("general.architecture", Value::string("llama"));
    if (alignment != 32) w.set("general.alignment", Value::u32(alignment));
    w.set("u8", Value::u8(200));
    w.set("i8", Value::i8(-5));
    w.set("u16", Value::u16(60000));
    w.set("i16", Value::i16(-30000));
    w.set("u32", Value::u32(4000000000u));
    w.set("i32", Value::i32(-2000000000));
    w.set("u64", Value::u64(18000000000000000000ull));
    w.set("i64", Value::i64(-9000000000000000000ll));
    w.set("f32", Value::f32(1.5f));
    w.set("f64", Value::f64(-2.25));
    w.set("bool", Value::boolean(true));
    w.set("str", Value::string("h\xC3\xA9llo"));
    w.set("strings", Value::array_strings({"a", "", "\xE2\x96\x81x"}));
    w.set("ints", Value::array_of<int32_t>(ValueType::INT32, std::vector<int32_t>{1, -2, 3}));
    w.set("nested", Value::array_values(ValueType::ARRAY, {Value::array_of<float>(ValueType::FLOAT32, std::vector<float>{0.5f}),
                                                          Value::array_strings({"deep"})}));
    std::vector<uint8_t> a(64 * 2 * 4), b(34 * 2);
    for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(i * 7);
    for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(i * 3 + 1);
    w.add_tensor("a.weight", DType::F32, {64, 2}, a);
    w.add_tensor("b.weight", DType::Q8_0, {32, 2}, b);
    return w.to_bytes();
}

std::string error_of(const std::vector<uint8_t>& bytes) {
    try {
        Reader::from_memory(bytes.data(), bytes.size(), "bad.gguf");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// Offset of the first occurrence of `needle` in the file.
size_t find(const std::vector<uint8_t>& v, const std::string& needle) {
    auto it = std::search(v.begin(), v.end(), needle.begin(), needle.end());
    return size_t(it - v.begin());
}

template <typename T>
void poke(std::vector<uint8_t>& v, size_t at, T value) {
    std::memcpy(v.data() + at, &value, sizeof(T));
}

}  // namespace

TEST(GgufReader, ReleaseForgetsOneKeyAndKeepsTheOthersFindable) {
    auto bytes = sample_file();
    auto r = Reader::from_memory(bytes.data(), bytes.size(), "mem.gguf");
    const size_t n = r->metadata().size();
    r->release("strings");  // in the middle: every later key's index moves down by one
    r->release("no.such.key");
    EXPECT_EQ(r->metadata().size(), n - 1);
    EXPECT_FALSE(r->has("strings"));
    EXPECT_THROW(r->get("strings"), Error);
    EXPECT_EQ(r->get("str").as_string(), "h\xC3\xA9llo");
    EXPECT_EQ(r->get("ints").int_at(1), -2);
    EXPECT_EQ(r->get("nested").size(), 2u);
    EXPECT_EQ(r->get("general.architecture").as_string(), "llama");
    for (const auto& [key, value] : r->metadata()) EXPECT_EQ(r->find(key), &value) << key;
    ASSERT_NE(r->find_tensor("b.weight"), nullptr);
}

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensor) {
    auto bytes = sample_file();
    auto r = Reader::from_memory(bytes.data(), bytes.size(), "mem.gguf");
    EXPECT_EQ(r->version(), 3u);
    EXPECT_EQ(r->get("u8").as_u64(), 200u);
    EXPECT_EQ(r->get("i8").as_i64(), -5);
    EXPECT_EQ(r->get("u16").as_u64(), 60000u);
    EXPECT_EQ(r->get("i16").as_i64(), -30000);
    EXPECT_EQ(r->get("u32").as_u64(), 4000000000u);
    EXPECT_EQ(r->get("i32").as_i64(), -2000000000);
    EXPECT_EQ(r->get("u64").as_u64(), 18000000000000000000ull);
    EXPECT_EQ(r->get("i64").as_i64(), -9000000000000000000ll);
    EXPECT_EQ(r->get("f32").as_f64(), 1.5);
    EXPECT_EQ(r->get("f64").as_f64(), -2.25);
    EXPECT_TRUE(r->get("bool").as_bool());
    EXPECT_EQ(r->get("str").as_string(), "h\xC3\xA9llo");
    EXPECT_EQ(r->get("strings").strings(), (std::vector<std::string>{"a", "", "\xE2\x96\x81x"}));
    EXPECT_EQ(r->get("ints").int_at(1), -2);
    const Value& nested = r->get("nested");
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_EQ(nested.at(0).number_at(0), 0.5);
    EXPECT_EQ(nested.at(1).string_at(0), "deep");
    const TensorInfo* a = r->find_tensor("a.weight");
    const TensorInfo* b = r->find_tensor("b.weight");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->n_bytes, 512u);
    EXPECT_EQ(b->n_bytes, 68u);
    EXPECT_EQ(a->data[5], uint8_t(35));
    EXPECT_EQ(b->data[2], uint8_t(7));
    EXPECT_EQ((a->data - bytes.data()) % 32, 0);
    EXPECT_EQ((b->data - bytes.data()) % 32, 0);
    // Metadata order is kept.
    EXPECT_EQ(r->metadata().front().first, "general.architecture");
}

TEST(GgufWriter, HonoursGeneralAlignment) {
    auto bytes = sample_file(64);
    auto r = Reader::from_memory(bytes.data(), bytes.size(), "mem.gguf");
    EXPECT_EQ(r->alignment(), 64u);
    for (const auto& t : r->tensors()) EXPECT_EQ((t.data - bytes.data()) % 64, 0);
}

TEST(GgufWriter, WritesAtomicallyToDisk) {
    Writer w;
    w.set("k", Value::u32(7));
    auto path = std::filesystem::temp_directory_path() / "kinglet-writer-test.gguf";
    w.write(path.string());
    auto r = Reader::open(path.string());
    EXPECT_EQ(r->get_int("k"), 7);
    EXPECT_TRUE(r->tensors().empty());
    std::filesystem::remove(path);
}

// Resident bytes of the mapping that holds `p`, from /proc/self/smaps (0 if not found).
size_t resident_bytes_of_mapping(const void* p) {
    std::ifstream in("/proc/self/smaps");
    std::string line;
    bool inside = false;
    const auto at = reinterpret_cast<uintptr_t>(p);
    while (std::getline(in, line)) {
        unsigned long lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
            inside = lo <= at && at < hi;
        } else if (inside && line.rfind("Rss:", 0) == 0) {
            return std::stoul(line.substr(4)) * 1024;
        }
    }
    return 0;
}

TEST(GgufReader, OpenLeavesTheMetadataPagesOutOfMemory) {
    // A vocabulary-sized string array (about 2 MiB of metadata) before one small tensor. Everything before
    // the tensor data is parsed into copies, so after open none of its pages should stay mapped in.
    std::vector<std::string> tokens;
    for (int i = 0; i < 150000; ++i) tokens.push_back("token-" + std::to_string(i));
    Writer w;
    w.set("general.architecture", Value::string("llama"));
    w.set("tokenizer.ggml.tokens", Value::array_strings(tokens));
    std::vector<uint8_t> a(64 * 4, 1);
    w.add_tensor("a.weight", DType::F32, {64}, a);
    auto path = std::filesystem::temp_directory_path() / "kinglet-release-test.gguf";
    w.write(path.string());
    auto r = Reader::open(path.string());
    ASSERT_GT(r->file().size(), size_t(2) << 20);
    // At most the page the metadata shares with the tensor data (the reader does not touch the data).
    EXPECT_LE(resident_bytes_of_mapping(r->file().data()), size_t(8192));
    EXPECT_EQ(r->get("tokenizer.ggml.tokens").strings()[123456], "token-123456");
    EXPECT_EQ(std::memcmp(r->find_tensor("a.weight")->data, a.data(), a.size()), 0);
    std::filesystem::remove(path);
}

TEST(GgufReader, ReadsVersion2) {
    auto bytes = sample_file();
    poke<uint32_t>(bytes, 4, 2);
    auto r = Reader::from_memory(bytes.data(), bytes.size(), "v2.gguf");
    EXPECT_EQ(r->version(), 2u);
}

TEST(GgufReader, RejectsEveryTruncation) {
    auto bytes = sample_file();
    // Cutting the file anywhere must give a clear error (or, past the last tensor byte, still parse).
    const size_t last_byte = bytes.size();
    size_t errors = 0;
    for (size_t n = 0; n < last_byte; n += 3) {
        std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
        std::string e = error_of(cut);
        if (!e.empty()) {
            ++errors;
            EXPECT_NE(e.find("bad.gguf"), std::string::npos) << e;
        }
    }
    EXPECT_GT(errors, last_byte / 3 - 30);
}

TEST(GgufReader, HostileCountsAndLengths) {
    auto bytes = sample_file();
    {
        auto v = bytes;
        poke<uint64_t>(v, 16, 1ull << 60);  // metadata count
        EXPECT_NE(error_of(v).find("metadata count"), std::string::npos);
    }
    {
        auto v = bytes;
        poke<uint64_t>(v, 8, 1ull << 60);  // tensor count
        EXPECT_NE(error_of(v).find("tensor count"), std::string::npos);
    }
    {
        auto v = bytes;
        size_t at = find(v, "general.architecture") + std::strlen("general.architecture") + 4;  // string length
        poke<uint64_t>(v, at, 1ull << 50);
        std::string e = error_of(v);
        EXPECT_NE(e.find("general.architecture"), std::string::npos) << e;
        EXPECT_NE(e.find("length"), std::string::npos) << e;
    }
    {
        auto v = bytes;
        size_t at = find(v, "strings") + std::strlen("strings") + 4 + 4;  // array count after type + elem type
        poke<uint64_t>(v, at, 1ull << 40);
        std::string e = error_of(v);
        EXPECT_NE(e.find("strings"), std::string::npos) << e;
    }
    {
        auto v = bytes;
        size_t at = find(v, "u8") + 2;  // value type
        poke<uint32_t>(v, at, 99);
        EXPECT_NE(error_of(v).find("unknown value type 99"), std::string::npos);
    }
    {
        auto v = bytes;
        size_t at = find(v, "bool") + 4 + 4;
        v[at] = 7;
        EXPECT_NE(error_of(v).find("bool"), std::string::npos);
    }
}

TEST(GgufReader, HostileTensorInfos) {
    auto bytes = sample_file();
    const size_t a_info = find(bytes, "a.weight") + std::strlen("a.weight");  // n_dims follows
    const size_t b_info = find(bytes, "b.weight") + std::strlen("b.weight");
    auto expect = [&](std::vector<uint8_t> v, const std::string& what) {
        std::string e = error_of(v);
        EXPECT_NE(e.find(what), std::string::npos) << "expected '" << what << "' in: " << e;
        EXPECT_NE(e.find("bad.gguf"), std::string::npos) << e;
    };
    {
        auto v = bytes;
        poke<uint32_t>(v, a_info, 9);
        expect(v, "dimensions");
    }
    {
        auto v = bytes;
        poke<uint64_t>(v, a_info + 4, 0);
        expect(v, "invalid size");
    }
    {
        auto v = bytes;
        poke<uint64_t>(v, a_info + 4, 1ull << 62);
        poke<uint64_t>(v, a_info + 12, 1ull << 62);
        expect(v, "overflows");
    }
    {
        auto v = bytes;
        poke<uint32_t>(v, a_info + 4 + 16, 4);  // type id 4 was removed from ggml
        expect(v, "unknown tensor type id 4");
    }
    {
        auto v = bytes;
        poke<uint64_t>(v, b_info + 4, 33);  // a Q8_0 row of 33 is not whole blocks
        expect(v, "block size");
    }
    {
        auto v = bytes;
        poke<uint64_t>(v, a_info + 4 + 16 + 4, 1ull << 40);  // offset far past the end
        expect(v, "past the end");
    }
    {
        auto v = bytes;
        poke<uint64_t>(v, a_info + 4 + 16 + 4, 3);  // misaligned
        expect(v, "alignment");
    }
    {
        auto v = bytes;
        poke<uint64_t>(v, b_info + 4 + 16 + 4, 0);  // b starts where a does
        expect(v, "overlap");
    }
    {
        auto v = bytes;
        std::memcpy(v.data() + find(v, "b.weight"), "a", 1);  // two tensors named a.weight
        expect(v, "duplicate tensor name");
    }
}

TEST(GgufReader, RejectsWrongMagicAndVersion) {
    auto bytes = sample_file();
    auto v = bytes;
    v[0] = 'X';
    EXPECT_NE(error_of(v).find("not a GGUF file"), std::string::npos);
    v = bytes;
    poke<uint32_t>(v, 4, 1);
    EXPECT_NE(error_of(v).find("version 1"), std::string::npos);
    v = bytes;
    poke<uint32_t>(v, 4, 4);
    EXPECT_NE(error_of(v).find("version 4"), std::string::npos);
    EXPECT_NE(error_of({}).find("not a GGUF file"), std::string::npos);
}

TEST(GgufReader, DuplicateKeysAreAnError) {
    Writer w;
    w.set("a", Value::u32(1));
    w.set("b", Value::u32(2));
    auto bytes = w.to_bytes();
    std::memcpy(bytes.data() + find(bytes, "b"), "a", 1);
    EXPECT_NE(error_of(bytes).find("duplicate key"), std::string::npos);
}

TEST(GgufReader, TypedGettersNameTheKey) {
    auto bytes = sample_file();
    auto r = Reader::from_memory(bytes.data(), bytes.size(), "mem.gguf");
    try {
        r->get_int("str");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'str'"), std::string::npos);
    }
    try {
        r->get_string("missing.key");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.key"), std::string::npos);
    }
}
