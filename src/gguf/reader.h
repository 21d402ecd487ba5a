// GGUF v2/v3 reader. Parses the header, metadata and tensor infos with every count, length and offset
// checked against the file, then exposes the tensor data zero-copy from the memory map.
// Any malformed input ends in Error(invalid_file) naming the file and the field.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "gguf/value.h"
#include "tensor/dtype.h"

namespace kinglet::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little endian
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr int kMaxDims = 4;

struct TensorInfo {
    std::string name;
    DType type;
    int n_dims = 0;
    int64_t ne[kMaxDims] = {1, 1, 1, 1};  // ne[0] is the contiguous dimension (a row)
    uint64_t offset = 0;                  // relative to the start of the data section
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;        // inside the map

    int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
    std::string shape_string() const;     // "[576, 49152]"
};

class Reader {
public:
    // Opens and maps a file. Throws Error naming the path.
    static std::unique_ptr<Reader> open(const std::string& path);
    // Parses a buffer the caller keeps alive (fuzzing, tests); `name` is used in messages.
    static std::unique_ptr<Reader> from_memory(const void* data, size_t size, std::string name);

    const std::string& path() const { return file_->path(); }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    const MappedFile& file() const { return *file_; }

    // Metadata, in file order.
    const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
    const Value* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }
    // Required typed getters: Error(invalid_file) naming the key when missing or of the wrong kind.
    const Value& get(std::string_view key) const;
    std::string get_string(std::string_view key) const;
    int64_t get_int(std::string_view key) const;
    double get_float(std::string_view key) const;
    // Optional getters with defaults.
    std::string get_string(std::string_view key, std::string def) const;
    int64_t get_int(std::string_view key, int64_t def) const;
    double get_float(std::string_view key, double def) const;
    bool get_bool(std::string_view key, bool def) const;

    // Forgets a metadata value the caller has consumed (a vocabulary's arrays are megabytes that a
    // loaded model holds in its tokenizer already); afterwards the key is not found. No-op if absent.
    void release(std::string_view key);

    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;

private:
    explicit Reader(std::unique_ptr<MappedFile> file);
    void parse();

    std::unique_ptr<MappedFile> file_;
    uint32_t version_ = 0;
    uint32_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<std::pair<std::string, Value>> kv_;
    std::map<std::string, size_t, std::less<>> kv_index_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace kinglet::gguf
