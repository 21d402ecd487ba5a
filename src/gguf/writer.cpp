#include "gguf/writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace kinglet::gguf {
namespace {

void put_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
    if (n == 0) return;
    size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, p, n);
}
template <typename T>
void put(std::vector<uint8_t>& out, T v) {
    put_bytes(out, &v, sizeof(T));
}
void put_string(std::vector<uint8_t>& out, const std::string& s) {
    put<uint64_t>(out, s.size());
    put_bytes(out, s.data(), s.size());
}

void put_array_body(std::vector<uint8_t>& out, const Value& v);

void put_value_body(std::vector<uint8_t>& out, const Value& v) {
    switch (v.type()) {
        case ValueType::STRING: put_string(out, v.as_string()); break;
        case ValueType::ARRAY: put_array_body(out, v); break;
        default: put_bytes(out, v.raw(), v.raw_size());
    }
}

void put_array_body(std::vector<uint8_t>& out, const Value& v) {
    put<uint32_t>(out, static_cast<uint32_t>(v.elem_type()));
    put<uint64_t>(out, v.size());
    if (v.elem_type() == ValueType::STRING) {
        for (const auto& s : v.strings()) put_string(out, s);
    } else if (v.elem_type() == ValueType::ARRAY) {
        for (size_t i = 0; i < v.size(); ++i) put_array_body(out, v.at(i));
    } else {
        put_bytes(out, v.raw(), v.raw_size());
    }
}

}  // namespace

void Writer::set(const std::string& key, Value v) {
    for (auto& [k, old] : kv_)
        if (k == key) {
            old = std::move(v);
            return;
        }
    kv_.emplace_back(key, std::move(v));
}

void Writer::remove(const std::string& key) {
    std::erase_if(kv_, [&](const auto& kv) { return kv.first == key; });
}

const Value* Writer::find(const std::string& key) const {
    for (const auto& [k, v] : kv_)
        if (k == key) return &v;
    return nullptr;
}

uint32_t Writer::alignment() const {
    const Value* a = find("general.alignment");
    return a ? static_cast<uint32_t>(a->as_u64()) : 32;
}

void Writer::check_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne) const {
    if (ne.empty() || ne.size() > 4) fail(Errc::invalid_argument, "tensor '{}': {} dimensions", name, ne.size());
    for (int64_t d : ne)
        if (d <= 0) fail(Errc::invalid_argument, "tensor '{}': dimension of size {}", name, d);
    int64_t bs = dtype_info(type).block_size;
    if (ne[0] % bs != 0)
        fail(Errc::invalid_argument, "tensor '{}': row of {} is not a multiple of the {} block size {}", name, ne[0],
             dtype_name(type), bs);
    for (const auto& t : tensors_)
        if (t.name == name) fail(Errc::invalid_argument, "tensor '{}' added twice", name);
}

size_t Writer::tensor_bytes(DType type, const std::vector<int64_t>& ne) const {
    size_t rows = 1;
    for (size_t i = 1; i < ne.size(); ++i) rows *= static_cast<size_t>(ne[i]);
    return row_bytes(type, ne[0]) * rows;
}

void Writer::add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, std::vector<uint8_t> data) {
    check_tensor(name, type, ne);
    size_t n = tensor_bytes(type, ne);
    if (data.size() != n)
        fail(Errc::internal, "tensor '{}': {} bytes given, {} expected for {} {}", name, data.size(), n,
             dtype_name(type), ne.size());
    tensors_.push_back({name, type, std::move(ne), n, std::move(data), nullptr});
}

void Writer::add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, Fill fill) {
    check_tensor(name, type, ne);
    size_t n = tensor_bytes(type, ne);
    tensors_.push_back({name, type, std::move(ne), n, {}, std::move(fill)});
}

std::vector<uint8_t> Writer::header(std::vector<uint64_t>& offsets) const {
    const uint64_t align = alignment();
    std::vector<uint8_t> out;
    put<uint32_t>(out, 0x46554747);
    put<uint32_t>(out, 3);
    put<uint64_t>(out, tensors_.size());
    put<uint64_t>(out, kv_.size());
    for (const auto& [k, v] : kv_) {
        put_string(out, k);
        put<uint32_t>(out, static_cast<uint32_t>(v.type()));
        put_value_body(out, v);
    }
    uint64_t off = 0;
    offsets.clear();
    for (const auto& t : tensors_) {
        put_string(out, t.name);
        put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) put<uint64_t>(out, static_cast<uint64_t>(d));
        put<uint32_t>(out, static_cast<uint32_t>(t.type));
        put<uint64_t>(out, off);
        offsets.push_back(off);
        off += (t.n_bytes + align - 1) / align * align;
    }
    out.resize((out.size() + align - 1) / align * align, 0);
    return out;
}

std::vector<uint8_t> Writer::to_bytes() const {
    std::vector<uint64_t> offsets;
    std::vector<uint8_t> out = header(offsets);
    size_t base = out.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const Tensor& t = tensors_[i];
        out.resize(base + offsets[i] + t.n_bytes, 0);
        uint8_t* dst = out.data() + base + offsets[i];
        if (t.fill) t.fill(dst, t.n_bytes);
        else std::memcpy(dst, t.data.data(), t.n_bytes);
    }
    if (!tensors_.empty()) {
        uint64_t align = alignment();
        out.resize((out.size() + align - 1) / align * align, 0);
    }
    return out;
}

void Writer::write(const std::string& path) const {
    std::string tmp = path + ".tmp" + std::to_string(::getpid());
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
    if (!f) fail(Errc::io, "cannot create '{}': {}", tmp, std::strerror(errno));
    auto put_file = [&](const void* p, size_t n) {
        if (n && std::fwrite(p, 1, n, f.get()) != n) {
            int e = errno;
            std::remove(tmp.c_str());
            fail(Errc::io, "cannot write '{}': {}", path, std::strerror(e));
        }
    };
    std::vector<uint64_t> offsets;
    std::vector<uint8_t> head = header(offsets);
    put_file(head.data(), head.size());
    const uint64_t align = alignment();
    std::vector<uint8_t> buf;
    const std::vector<uint8_t> zeros(align, 0);
    for (const Tensor& t : tensors_) {
        if (t.fill) {
            buf.assign(t.n_bytes, 0);
            t.fill(buf.data(), t.n_bytes);
            put_file(buf.data(), t.n_bytes);
        } else {
            put_file(t.data.data(), t.n_bytes);
        }
        put_file(zeros.data(), (align - t.n_bytes % align) % align);
    }
    if (std::fflush(f.get()) != 0) {
        std::remove(tmp.c_str());
        fail(Errc::io, "cannot write '{}': {}", path, std::strerror(errno));
    }
    f.reset();
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        std::remove(tmp.c_str());
        fail(Errc::io, "cannot rename '{}' to '{}': {}", tmp, path, std::strerror(e));
    }
}

}  // namespace kinglet::gguf
