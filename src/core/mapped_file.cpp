#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace kinglet {

MappedFile::MappedFile(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        fail(e == ENOENT ? Errc::not_found : Errc::io, "cannot open '{}': {}", path, std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        fail(Errc::io, "cannot stat '{}': {}", path, std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(Errc::invalid_argument, "'{}' is not a regular file", path);
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            ::close(fd);
            fail(Errc::io, "cannot map '{}' ({} bytes): {}", path, size_, std::strerror(e));
        }
        data_ = static_cast<const uint8_t*>(p);
        owned_ = true;
    }
    ::close(fd);
}

MappedFile::MappedFile(const void* data, size_t size, std::string name)
    : path_(std::move(name)), data_(static_cast<const uint8_t*>(data)), size_(size) {}

MappedFile::~MappedFile() {
    if (owned_ && data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::release(const void* p, size_t n) const {
    if (!owned_ || !data_) return;
    const long page = ::sysconf(_SC_PAGESIZE);
    const uintptr_t b = reinterpret_cast<uintptr_t>(p), e = b + n;
    const uintptr_t lo = (b + page - 1) / page * page, hi = e / page * page;
    if (lo < hi && b >= reinterpret_cast<uintptr_t>(data_) && e <= reinterpret_cast<uintptr_t>(data_) + size_)
        ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

void MappedFile::prefetch() const {
    if (owned_ && data_) ::madvise(const_cast<uint8_t*>(data_), size_, MADV_WILLNEED);
}

}  // namespace kinglet
