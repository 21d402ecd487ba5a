#include "model/requantize.h"

#include <sys/stat.h>

#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/quant_recipe.h"
#include "tensor/quant.h"

namespace kinglet {

uint64_t requantize_model(const std::string& in, const std::string& out, const std::string& type, int threads,
                          const std::function<void(size_t, size_t)>& progress) {
    const FileType ft = file_type_from_name(type);
    auto r = gguf::Reader::open(in);
    const std::string arch = r->get_string("general.architecture");
    const int n_layer = static_cast<int>(r->get_int(arch + ".block_count"));
    const bool tied = r->find_tensor("output.weight") == nullptr;
    gguf::Writer w;
    for (const auto& [k, v] : r->metadata()) w.set(k, v);
    w.set("general.file_type", gguf::Value::u32(ft.ggml_id));
    ThreadPool pool(threads > 0 ? threads : default_thread_count());
    size_t done = 0;
    const size_t total = r->tensors().size();
    for (const auto& t : r->tensors()) {
        if (!can_dequantize(t.type))
            fail(Errc::unsupported, "{}: tensor '{}' has type {}, which kinglet cannot convert", in, t.name,
                 dtype_name(t.type));
        const DType to = tensor_type(ft, t.name, t.ne[0], t.n_dims, n_layer, tied);
        std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
        const gguf::TensorInfo* src = &t;
        w.add_tensor(t.name, to, ne, [src, to, &pool, &done, total, &progress](uint8_t* dst, size_t) {
            const int64_t cols = src->ne[0], rows = src->n_rows();
            const size_t in_rb = row_bytes(src->type, cols), out_rb = row_bytes(to, cols);
            pool.parallel_for(rows, 8, [&](int64_t r0, int64_t r1) {
                std::vector<float> row(cols);
                for (int64_t i = r0; i < r1; ++i) {
                    dequantize_row(src->type, src->data + i * in_rb, row.data(), cols);
                    quantize_row(to, row.data(), dst + i * out_rb, cols);
                }
            });
            if (progress) progress(++done, total);
        });
    }
    w.write(out);
    struct stat st {};
    ::stat(out.c_str(), &st);
    return uint64_t(st.st_size);
}

}  // namespace kinglet
