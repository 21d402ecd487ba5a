// A read-only memory map of a whole file. Model weights are used straight from the map (zero copy),
// so the page cache is shared between processes that load the same file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace kinglet {

class MappedFile {
public:
    // Throws Error(not_found / io) naming the path.
    explicit MappedFile(const std::string& path);
    // Wraps a buffer the caller keeps alive (tests, fuzzing); nothing is unmapped.
    MappedFile(const void* data, size_t size, std::string name);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Ask the kernel to read the whole file ahead (used before a forward pass touches every page).
    void prefetch() const;

    // Drops the pages wholly inside [p, p + n) from this process's memory, for a part of a mapped file
    // that has been copied elsewhere and will not be read again (a read would fetch it back from the
    // file). Does nothing for a file given as memory.
    void release(const void* p, size_t n) const;

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    bool owned_ = false;
};

}  // namespace kinglet
