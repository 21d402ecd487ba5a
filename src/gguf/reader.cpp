#include "gguf/reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace kinglet::gguf {
namespace {

constexpr int kMaxNesting = 8;             // arrays of arrays deeper than this are hostile
constexpr uint64_t kMaxNameLength = 4096;  // tensor names (ggml uses 64)

// A bounds-checked cursor over the mapped bytes. Every read names what it reads in its error.
class Cursor {
public:
    Cursor(const uint8_t* data, size_t size, const std::string& path) : p_(data), size_(size), path_(path) {}

    size_t pos() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }

    template <typename T>
    T read(const std::string& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, p_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    const uint8_t* bytes(size_t n, const std::string& what) {
        need(n, what);
        const uint8_t* r = p_ + pos_;
        pos_ += n;
        return r;
    }

    std::string string(const std::string& what, uint64_t max_len = std::numeric_limits<uint64_t>::max()) {
        uint64_t len = read<uint64_t>(what + " length");
        if (len > remaining())
            fail(Errc::invalid_file, "{}: {}: string length {} exceeds the {} bytes left in the file", path_,
                 what, len, remaining());
        if (len > max_len)
            fail(Errc::invalid_file, "{}: {}: string length {} exceeds the limit of {}", path_, what, len, max_len);
        const char* s = reinterpret_cast<const char*>(bytes(len, what));
        return std::string(s, len);
    }

    [[noreturn]] void error(const std::string& what, const std::string& problem) const {
        fail(Errc::invalid_file, "{}: {}: {}", path_, what, problem);
    }

private:
    void need(size_t n, const std::string& what) const {
        if (n > size_ - pos_)
            fail(Errc::invalid_file, "{}: file is truncated while reading {} (offset {}, need {} bytes, {} left)",
                 path_, what, pos_, n, size_ - pos_);
    }

    const uint8_t* p_;
    size_t size_;
    size_t pos_ = 0;
    const std::string& path_;
};

Value read_value(Cursor& c, ValueType type, const std::string& what, int depth);

Value read_array(Cursor& c, const std::string& what, int depth) {
    if (depth >= kMaxNesting) c.error(what, fmt::format("arrays nested deeper than {} levels", kMaxNesting));
    uint32_t et = c.read<uint32_t>(what + " element type");
    if (!value_type_valid(et)) c.error(what, fmt::format("unknown array element type {}", et));
    ValueType elem = static_cast<ValueType>(et);
    uint64_t count = c.read<uint64_t>(what + " element count");
    // Every element occupies at least this many bytes, so the count is bounded by what is left:
    // nothing is allocated from a count the file cannot back.
    size_t min_size = elem == ValueType::STRING ? 8 : elem == ValueType::ARRAY ? 12 : value_type_size(elem);
    if (count > c.remaining() / min_size)
        c.error(what, fmt::format("array of {} {} elements cannot fit in the {} bytes left", count,
                                  value_type_name(elem), c.remaining()));
    Value v;
    if (elem == ValueType::STRING) {
        std::vector<std::string> items;
        items.reserve(count);
        for (uint64_t i = 0; i < count; ++i) items.push_back(c.string(fmt::format("{}[{}]", what, i)));
        return Value::array_strings(std::move(items));
    }
    if (elem == ValueType::ARRAY) {
        std::vector<Value> items;
        items.reserve(count);
        for (uint64_t i = 0; i < count; ++i)
            items.push_back(read_array(c, fmt::format("{}[{}]", what, i), depth + 1));
        return Value::array_values(ValueType::ARRAY, std::move(items));
    }
    const uint8_t* raw = c.bytes(count * min_size, what);
    if (elem == ValueType::BOOL)
        for (uint64_t i = 0; i < count; ++i)
            if (raw[i] > 1) c.error(fmt::format("{}[{}]", what, i), fmt::format("bool has value {}", raw[i]));
    return Value::array_raw(elem, raw, count);
}

Value read_value(Cursor& c, ValueType type, const std::string& what, int depth) {
    switch (type) {
        case ValueType::UINT8: return Value::u8(c.read<uint8_t>(what));
        case ValueType::INT8: return Value::i8(c.read<int8_t>(what));
        case ValueType::UINT16: return Value::u16(c.read<uint16_t>(what));
        case ValueType::INT16: return Value::i16(c.read<int16_t>(what));
        case ValueType::UINT32: return Value::u32(c.read<uint32_t>(what));
        case ValueType::INT32: return Value::i32(c.read<int32_t>(what));
        case ValueType::FLOAT32: return Value::f32(c.read<float>(what));
        case ValueType::UINT64: return Value::u64(c.read<uint64_t>(what));
        case ValueType::INT64: return Value::i64(c.read<int64_t>(what));
        case ValueType::FLOAT64: return Value::f64(c.read<double>(what));
        case ValueType::BOOL: {
            uint8_t b = c.read<uint8_t>(what);
            if (b > 1) c.error(what, fmt::format("bool has value {}", b));
            return Value::boolean(b != 0);
        }
        case ValueType::STRING: return Value::string(c.string(what));
        case ValueType::ARRAY: return read_array(c, what, depth);
    }
    c.error(what, "unknown value type");
}

}  // namespace

std::string TensorInfo::shape_string() const {
    std::string s = "[";
    for (int i = 0; i < n_dims; ++i) s += fmt::format("{}{}", i ? ", " : "", ne[i]);
    return s + "]";
}

Reader::Reader(std::unique_ptr<MappedFile> file) : file_(std::move(file)) {}

std::unique_ptr<Reader> Reader::open(const std::string& path) {
    auto r = std::unique_ptr<Reader>(new Reader(std::make_unique<MappedFile>(path)));
    r->parse();
    return r;
}

std::unique_ptr<Reader> Reader::from_memory(const void* data, size_t size, std::string name) {
    auto r = std::unique_ptr<Reader>(new Reader(std::make_unique<MappedFile>(data, size, std::move(name))));
    r->parse();
    return r;
}

void Reader::parse() {
    const std::string& path = file_->path();
    Cursor c(file_->data(), file_->size(), path);

    if (file_->size() < 4) fail(Errc::invalid_file, "{}: not a GGUF file (only {} bytes)", path, file_->size());
    uint32_t magic = c.read<uint32_t>("magic");
    if (magic != kMagic) fail(Errc::invalid_file, "{}: not a GGUF file (bad magic bytes)", path);
    version_ = c.read<uint32_t>("version");
    if (version_ == 1) fail(Errc::unsupported, "{}: GGUF version 1 is not supported (convert to v3)", path);
    if (version_ != 2 && version_ != 3)
        fail(Errc::unsupported, "{}: unsupported GGUF version {} (2 and 3 are supported)", path, version_);
    uint64_t n_tensors = c.read<uint64_t>("tensor count");
    uint64_t n_kv = c.read<uint64_t>("metadata count");
    // Minimum encoded sizes bound the counts before anything is reserved.
    if (n_kv > c.remaining() / 13)
        c.error("metadata count", fmt::format("{} entries cannot fit in a {}-byte file", n_kv, file_->size()));
    if (n_tensors > c.remaining() / 32)
        c.error("tensor count", fmt::format("{} tensors cannot fit in a {}-byte file", n_tensors, file_->size()));

    kv_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key = c.string(fmt::format("metadata key #{}", i), 65535);
        std::string what = fmt::format("metadata '{}'", key);
        uint32_t t = c.read<uint32_t>(what + " type");
        if (!value_type_valid(t)) c.error(what, fmt::format("unknown value type {}", t));
        Value v = read_value(c, static_cast<ValueType>(t), what, 0);
        if (kv_index_.count(key)) c.error(what, "duplicate key");
        kv_index_.emplace(key, kv_.size());
        kv_.emplace_back(std::move(key), std::move(v));
    }

    if (const Value* a = find("general.alignment")) {
        if (a->type() != ValueType::UINT32)
            c.error("metadata 'general.alignment'", fmt::format("should be uint32, is {}", value_type_name(a->type())));
        uint64_t al = a->as_u64();
        if (al == 0 || (al & (al - 1)) != 0 || al > (1u << 20))
            c.error("metadata 'general.alignment'", fmt::format("{} is not a power of two up to 2^20", al));
        alignment_ = static_cast<uint32_t>(al);
    }

    tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
        TensorInfo ti;
        ti.name = c.string(fmt::format("tensor #{} name", i), kMaxNameLength);
        std::string what = fmt::format("tensor '{}'", ti.name);
        uint32_t nd = c.read<uint32_t>(what + " dimension count");
        if (nd < 1 || nd > kMaxDims) c.error(what, fmt::format("{} dimensions (1 to {} allowed)", nd, kMaxDims));
        ti.n_dims = static_cast<int>(nd);
        int64_t total = 1;
        for (uint32_t d = 0; d < nd; ++d) {
            uint64_t ne = c.read<uint64_t>(fmt::format("{} dimension {}", what, d));
            if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max()))
                c.error(what, fmt::format("dimension {} has invalid size {}", d, ne));
            if (total > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(ne))
                c.error(what, "element count overflows");
            total *= static_cast<int64_t>(ne);
            ti.ne[d] = static_cast<int64_t>(ne);
        }
        uint32_t type = c.read<uint32_t>(what + " type");
        const DTypeInfo* info = dtype_info(type);
        if (!info) c.error(what, fmt::format("unknown tensor type id {}", type));
        ti.type = info->type;
        if (ti.ne[0] % info->block_size != 0)
            c.error(what, fmt::format("row of {} elements is not a multiple of the {} block size {}", ti.ne[0],
                                      info->name, info->block_size));
        ti.offset = c.read<uint64_t>(what + " offset");
        if (ti.offset % alignment_ != 0)
            c.error(what, fmt::format("data offset {} is not a multiple of the alignment {}", ti.offset, alignment_));
        uint64_t blocks = static_cast<uint64_t>(total / info->block_size);
        if (blocks > std::numeric_limits<uint64_t>::max() / info->block_bytes) c.error(what, "byte size overflows");
        ti.n_bytes = blocks * info->block_bytes;
        if (tensor_index_.count(ti.name)) c.error(what, "duplicate tensor name");
        tensor_index_.emplace(ti.name, tensors_.size());
        tensors_.push_back(std::move(ti));
    }

    uint64_t end_of_infos = c.pos();
    data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;
    if (tensors_.empty()) return;
    if (data_offset_ > file_->size())
        fail(Errc::invalid_file, "{}: file is truncated: the tensor data section should start at byte {} but the file has {}",
             path, data_offset_, file_->size());
    uint64_t data_size = file_->size() - data_offset_;

    std::vector<const TensorInfo*> by_offset;
    for (auto& t : tensors_) {
        if (t.offset > data_size || t.n_bytes > data_size - t.offset)
            fail(Errc::invalid_file,
                 "{}: tensor '{}': data [{}, {}) runs past the end of the data section ({} bytes); the file is truncated or corrupt",
                 path, t.name, t.offset, t.offset + t.n_bytes, data_size);
        t.data = file_->data() + data_offset_ + t.offset;
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const TensorInfo* prev = by_offset[i - 1];
        if (prev->offset + prev->n_bytes > by_offset[i]->offset)
            fail(Errc::invalid_file, "{}: tensors '{}' and '{}' overlap in the data section", path, prev->name,
                 by_offset[i]->name);
    }
    // Everything before the tensor data (the metadata, with the vocabulary, and the tensor infos) has been
    // copied into kv_ and tensors_; its pages (a few MiB for a large vocabulary) need not stay resident.
    file_->release(file_->data(), data_offset_);
}

const Value* Reader::find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

void Reader::release(std::string_view key) {
    auto it = kv_index_.find(key);
    if (it == kv_index_.end()) return;
    const size_t at = it->second;
    kv_.erase(kv_.begin() + static_cast<std::ptrdiff_t>(at));
    kv_index_.erase(it);
    for (auto& [k, i] : kv_index_)
        if (i > at) --i;
}

const Value& Reader::get(std::string_view key) const {
    const Value* v = find(key);
    if (!v) fail(Errc::invalid_file, "{}: required metadata '{}' is missing", path(), key);
    return *v;
}

std::string Reader::get_string(std::string_view key) const {
    return get(key).as_string(fmt::format("{}: metadata '{}'", path(), key));
}
int64_t Reader::get_int(std::string_view key) const {
    return get(key).as_i64(fmt::format("{}: metadata '{}'", path(), key));
}
double Reader::get_float(std::string_view key) const {
    return get(key).as_f64(fmt::format("{}: metadata '{}'", path(), key));
}
std::string Reader::get_string(std::string_view key, std::string def) const {
    return has(key) ? get_string(key) : def;
}
int64_t Reader::get_int(std::string_view key, int64_t def) const { return has(key) ? get_int(key) : def; }
double Reader::get_float(std::string_view key, double def) const { return has(key) ? get_float(key) : def; }
bool Reader::get_bool(std::string_view key, bool def) const {
    return has(key) ? get(key).as_bool(fmt::format("{}: metadata '{}'", path(), key)) : def;
}

const TensorInfo* Reader::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace kinglet::gguf
