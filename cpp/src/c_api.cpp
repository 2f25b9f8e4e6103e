//! \file c_api.cpp
//! \brief C ABI over rmnet::Inpainter: exceptions become status codes plus a thread-local message.
#include "rmnet/rmnet_c.h"

#include "rmnet/inpainter.hpp"

#include <cstddef>
#include <exception>
#include <new>
#include <string>
#include <vector>

struct rmnet_inpainter
{
    rmnet::Inpainter impl;
};

namespace {

thread_local std::string gLastError;

rmnet_status fail(rmnet_status status, std::string message)
{
    gLastError = std::move(message);
    return status;
}

//! Runs \p fn, mapping every exception to a status; nothing escapes into C.
template <typename Fn>
rmnet_status guarded(Fn&& fn) noexcept
{
    try
    {
        fn();
        gLastError.clear();
        return RMNET_OK;
    }
    catch (rmnet::Error const& e)
    {
        return fail(static_cast<rmnet_status>(e.code()), e.what());
    }
    catch (std::bad_alloc const&)
    {
        return fail(RMNET_ERROR_INTERNAL, "out of memory");
    }
    catch (std::exception const& e)
    {
        return fail(RMNET_ERROR_INTERNAL, e.what());
    }
    catch (...)
    {
        return fail(RMNET_ERROR_INTERNAL, "unknown exception");
    }
}

// The oldest accepted layouts (everything up to the last field of the first versioned struct), and
// a bound that no struct of this library will reach: a larger "struct_size" is not one (e.g. the
// low bits of a data pointer from a caller built against the unversioned first layout).
constexpr size_t kMIN_IMAGE_SIZE = offsetof(rmnet_image, format) + sizeof(int32_t);
constexpr size_t kMIN_MASK_SIZE = offsetof(rmnet_mask, pitch) + sizeof(size_t);
constexpr size_t kMAX_STRUCT_SIZE = 4096;

//! Element \p i of an array whose stride is its first element's struct_size (validated here).
template <typename T>
T const& element(T const* items, int32_t i, char const* what, size_t minSize)
{
    size_t const stride = items[0].struct_size;
    if (stride < minSize || stride > kMAX_STRUCT_SIZE || stride % alignof(T) != 0)
    {
        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT,
            std::string(what) + ".struct_size is " + std::to_string(stride) + " (initialise it with " + what
                + "_init)");
    }
    auto const* item = reinterpret_cast<T const*>(reinterpret_cast<char const*>(items) + stride * static_cast<size_t>(i));
    if (item->struct_size != stride)
    {
        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT,
            std::string(what) + "[" + std::to_string(i) + "].struct_size is " + std::to_string(item->struct_size)
                + ", element 0's is " + std::to_string(stride) + " (one array, one struct version)");
    }
    if (item->data_size == 0)
    {
        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT,
            std::string(what) + "[" + std::to_string(i) + "].data_size is 0: set it to the buffer's length in bytes");
    }
    return *item;
}

rmnet::ImageView toView(rmnet_image const& i)
{
    rmnet::ImageView v;
    v.data = i.data;
    v.height = i.height;
    v.width = i.width;
    v.channels = i.channels;
    v.pitch = i.pitch;
    v.format = static_cast<rmnet::PixelFormat>(i.format);
    v.size = i.data_size;
    return v;
}

rmnet::MaskView toView(rmnet_mask const& m)
{
    rmnet::MaskView v;
    v.data = m.data;
    v.height = m.height;
    v.width = m.width;
    v.pitch = m.pitch;
    v.size = m.data_size;
    return v;
}

// The oldest rmnet_options layout this library accepts (everything up to num_threads).
constexpr size_t kMIN_OPTIONS_SIZE = offsetof(rmnet_options, num_threads) + sizeof(int32_t);

} // namespace

extern "C" {

void rmnet_options_init(rmnet_options* options)
{
    if (options == nullptr)
    {
        return;
    }
    rmnet::Options const d;
    *options = rmnet_options{};
    options->struct_size = sizeof(rmnet_options);
    options->model_path = nullptr;
    options->backend = static_cast<int32_t>(d.backend);
    options->device = d.device;
    options->precision = static_cast<int32_t>(d.precision);
    options->strategy = static_cast<int32_t>(d.strategy);
    options->model_size = d.modelSize;
    options->cuda_graph = d.cudaGraph ? 1 : 0;
    options->check_sidecar = d.checkSidecar ? 1 : 0;
    options->onnx_sha256 = nullptr;
    options->num_threads = d.numThreads;
}

void rmnet_image_init(rmnet_image* image)
{
    if (image == nullptr)
    {
        return;
    }
    *image = rmnet_image{};
    image->struct_size = sizeof(rmnet_image);
    image->channels = 3;
    image->format = RMNET_PIXEL_RGB;
}

void rmnet_mask_init(rmnet_mask* mask)
{
    if (mask == nullptr)
    {
        return;
    }
    *mask = rmnet_mask{};
    mask->struct_size = sizeof(rmnet_mask);
}

rmnet_status rmnet_inpainter_create(rmnet_options const* options, rmnet_inpainter** out)
{
    if (out == nullptr)
    {
        return fail(RMNET_ERROR_INVALID_ARGUMENT, "rmnet_inpainter_create: out is NULL");
    }
    *out = nullptr;
    if (options == nullptr)
    {
        return fail(RMNET_ERROR_INVALID_ARGUMENT, "rmnet_inpainter_create: options is NULL");
    }
    if (options->struct_size < kMIN_OPTIONS_SIZE)
    {
        return fail(RMNET_ERROR_INVALID_ARGUMENT,
            "rmnet_inpainter_create: options.struct_size is too small (call rmnet_options_init first)");
    }
    return guarded([&] {
        rmnet::Options o;
        o.modelPath = options->model_path != nullptr ? options->model_path : "";
        o.backend = static_cast<rmnet::Backend>(options->backend);
        o.device = options->device;
        o.precision = static_cast<rmnet::Precision>(options->precision);
        o.strategy = static_cast<rmnet::Strategy>(options->strategy);
        o.modelSize = options->model_size;
        o.cudaGraph = options->cuda_graph != 0;
        o.checkSidecar = options->check_sidecar != 0;
        o.onnxSha256 = options->onnx_sha256 != nullptr ? options->onnx_sha256 : "";
        o.numThreads = options->num_threads;
        *out = new rmnet_inpainter{rmnet::Inpainter(o)};
    });
}

rmnet_status rmnet_inpainter_run(
    rmnet_inpainter* inpainter, rmnet_image const* image, rmnet_mask const* mask, rmnet_image const* out)
{
    return rmnet_inpainter_run_batch(inpainter, image, mask, out, 1);
}

rmnet_status rmnet_inpainter_run_batch(rmnet_inpainter* inpainter, rmnet_image const* images,
    rmnet_mask const* masks, rmnet_image const* outs, int32_t count)
{
    if (inpainter == nullptr || images == nullptr || masks == nullptr || outs == nullptr)
    {
        return fail(RMNET_ERROR_INVALID_ARGUMENT, "rmnet_inpainter_run: NULL argument");
    }
    if (count <= 0)
    {
        return fail(RMNET_ERROR_INVALID_ARGUMENT, "rmnet_inpainter_run_batch: count must be positive");
    }
    return guarded([&] {
        std::vector<rmnet::ImageView> in, res;
        std::vector<rmnet::MaskView> ms;
        for (int32_t i = 0; i < count; ++i)
        {
            in.push_back(toView(element(images, i, "rmnet_image", kMIN_IMAGE_SIZE)));
            ms.push_back(toView(element(masks, i, "rmnet_mask", kMIN_MASK_SIZE)));
            res.push_back(toView(element(outs, i, "rmnet_image", kMIN_IMAGE_SIZE)));
        }
        inpainter->impl.run(in, ms, res);
    });
}

rmnet_status rmnet_inpainter_stage_times(rmnet_inpainter const* inpainter, rmnet_stage_times* times)
{
    if (inpainter == nullptr || times == nullptr)
    {
        return fail(RMNET_ERROR_INVALID_ARGUMENT, "rmnet_inpainter_stage_times: NULL argument");
    }
    rmnet::StageTimes const t = inpainter->impl.lastTimes();
    times->preprocess_ms = t.preprocessMs;
    times->infer_ms = t.inferMs;
    times->composite_ms = t.compositeMs;
    return RMNET_OK;
}

void rmnet_inpainter_destroy(rmnet_inpainter* inpainter)
{
    delete inpainter;
}

char const* rmnet_last_error(void)
{
    return gLastError.c_str();
}

char const* rmnet_status_string(rmnet_status status)
{
    switch (status)
    {
    case RMNET_OK: return "RMNET_OK";
    case RMNET_ERROR_INVALID_ARGUMENT: return "RMNET_ERROR_INVALID_ARGUMENT";
    case RMNET_ERROR_MODEL_NOT_FOUND: return "RMNET_ERROR_MODEL_NOT_FOUND";
    case RMNET_ERROR_MODEL_INVALID: return "RMNET_ERROR_MODEL_INVALID";
    case RMNET_ERROR_ENGINE_MISMATCH: return "RMNET_ERROR_ENGINE_MISMATCH";
    case RMNET_ERROR_BACKEND_UNAVAILABLE: return "RMNET_ERROR_BACKEND_UNAVAILABLE";
    case RMNET_ERROR_INFERENCE_FAILED: return "RMNET_ERROR_INFERENCE_FAILED";
    case RMNET_ERROR_CUDA: return "RMNET_ERROR_CUDA";
    case RMNET_ERROR_INTERNAL: return "RMNET_ERROR_INTERNAL";
    }
    return "RMNET_ERROR_UNKNOWN";
}

char const* rmnet_version(void)
{
    return rmnet::version();
}

} // extern "C"
