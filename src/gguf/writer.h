// GGUF v3 writer. Metadata keeps insertion order; tensor data is either given as bytes or produced by
// a callback at write time (so a multi-gigabyte model is written without holding it all in memory).
// Files are written to a temporary name and renamed, so a reader never sees a half-written file.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf/value.h"
#include "tensor/dtype.h"

namespace kinglet::gguf {

class Writer {
public:
    // Fills exactly `n_bytes` at `dst` with the tensor's data.
    using Fill = std::function<void(uint8_t* dst, size_t n_bytes)>;

    void set(const std::string& key, Value v);  // replaces an existing key in place
    void remove(const std::string& key);
    const Value* find(const std::string& key) const;

    // ne[0] is the row length (contiguous); it must be a multiple of the type's block size.
    void add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, std::vector<uint8_t> data);
    void add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, Fill fill);

    uint32_t alignment() const;
    void write(const std::string& path) const;
    std::vector<uint8_t> to_bytes() const;

private:
    struct Tensor {
        std::string name;
        DType type;
        std::vector<int64_t> ne;
        size_t n_bytes;
        std::vector<uint8_t> data;
        Fill fill;
    };
    std::vector<uint8_t> header(std::vector<uint64_t>& offsets) const;
    void check_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne) const;
    size_t tensor_bytes(DType type, const std::vector<int64_t>& ne) const;

    std::vector<std::pair<std::string, Value>> kv_;
    std::vector<Tensor> tensors_;
};

}  // namespace kinglet::gguf
