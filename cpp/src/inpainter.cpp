//! \file inpainter.cpp
//! \brief rmnet::Inpainter: input validation, strategy (model shape per image), backend dispatch.
#include "rmnet/inpainter.hpp"

#include "backend.hpp"
#include "contract.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

namespace rmnet {
namespace {

using detail::Job;

std::string dims(int32_t h, int32_t w)
{
    return std::to_string(h) + "x" + std::to_string(w);
}

//! Bytes from the first pixel to one past the last one, (rows - 1) * pitch + rowBytes; throws when
//! that overflows a pointer offset, or exceeds \p size (the buffer's length, when given).
size_t checkExtent(std::string const& name, int32_t rows, size_t pitch, size_t rowBytes, size_t size)
{
    size_t const maxOffset = static_cast<size_t>(PTRDIFF_MAX);
    size_t const steps = static_cast<size_t>(rows) - 1;
    if (rowBytes > maxOffset || (steps > 0 && pitch > (maxOffset - rowBytes) / steps))
    {
        throw Error(Status::kINVALID_ARGUMENT,
            name + ": " + std::to_string(rows) + " rows of pitch " + std::to_string(pitch)
                + " bytes overflow the address space");
    }
    size_t const extent = steps * pitch + rowBytes;
    if (size != 0 && extent > size)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            name + ": buffer of " + std::to_string(size) + " bytes is too small: " + std::to_string(rows)
                + " rows of pitch " + std::to_string(pitch) + " need " + std::to_string(extent));
    }
    return extent;
}

void checkImage(ImageView& v, char const* what)
{
    std::string const name(what);
    if (v.data == nullptr)
    {
        throw Error(Status::kINVALID_ARGUMENT, name + ": null data pointer");
    }
    if (v.channels != 3)
    {
        throw Error(Status::kINVALID_ARGUMENT, name + ": expected 3 channels, got " + std::to_string(v.channels));
    }
    if (v.height <= 0 || v.width <= 0)
    {
        throw Error(Status::kINVALID_ARGUMENT, name + ": empty size " + dims(v.height, v.width));
    }
    if (v.format != PixelFormat::kRGB && v.format != PixelFormat::kBGR)
    {
        throw Error(Status::kINVALID_ARGUMENT, name + ": unknown pixel format");
    }
    size_t const row = 3 * static_cast<size_t>(v.width);
    v.pitch = v.pitch == 0 ? row : v.pitch;
    if (v.pitch < row)
    {
        throw Error(Status::kINVALID_ARGUMENT, name + ": row pitch " + std::to_string(v.pitch) + " < 3 * width");
    }
    checkExtent(name, v.height, v.pitch, row, v.size);
}

Job makeJob(ImageView image, MaskView mask, ImageView out)
{
    checkImage(image, "image");
    checkImage(out, "output");
    if (mask.data == nullptr)
    {
        throw Error(Status::kINVALID_ARGUMENT, "mask: null data pointer");
    }
    if (mask.height != image.height || mask.width != image.width)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "mask is " + dims(mask.height, mask.width) + " but the image is " + dims(image.height, image.width));
    }
    if (out.height != image.height || out.width != image.width)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "output is " + dims(out.height, out.width) + " but the image is " + dims(image.height, image.width));
    }
    if (out.format != image.format)
    {
        throw Error(Status::kINVALID_ARGUMENT, "output and image must have the same pixel format");
    }
    mask.pitch = mask.pitch == 0 ? static_cast<size_t>(mask.width) : mask.pitch;
    if (mask.pitch < static_cast<size_t>(mask.width))
    {
        throw Error(Status::kINVALID_ARGUMENT, "mask: row pitch < width");
    }
    checkExtent("mask", mask.height, mask.pitch, static_cast<size_t>(mask.width), mask.size);
    return Job{image, mask, out, 0, 0};
}

bool hasSuffix(std::string const& s, char const* suffix)
{
    std::string const t(suffix);
    return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

Options resolveOptions(Options o)
{
    if (o.modelPath.empty())
    {
        throw Error(Status::kINVALID_ARGUMENT, "options: modelPath is empty");
    }
    if (o.strategy != Strategy::kRESIZE && o.strategy != Strategy::kORIGINAL && o.strategy != Strategy::kCROP)
    {
        throw Error(Status::kINVALID_ARGUMENT, "options: unknown strategy");
    }
    if (o.cropMargin < 0)
    {
        throw Error(Status::kINVALID_ARGUMENT, "options: cropMargin must be >= 0, got " + std::to_string(o.cropMargin));
    }
    if (o.precision != Precision::kAUTO && o.precision != Precision::kFP32 && o.precision != Precision::kFP16)
    {
        throw Error(Status::kINVALID_ARGUMENT, "options: unknown precision");
    }
    if (o.modelSize <= 0 || o.modelSize % detail::contract::kSIZE_MULTIPLE != 0 || o.modelSize > kMAX_MODEL_SIZE)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "options: modelSize must be a multiple of 16 from 16 to " + std::to_string(kMAX_MODEL_SIZE) + ", got "
                + std::to_string(o.modelSize));
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.modelPath, ec))
    {
        throw Error(Status::kMODEL_NOT_FOUND, "model file not found: " + o.modelPath);
    }
    if (o.backend == Backend::kAUTO)
    {
        bool const onnx = hasSuffix(o.modelPath, ".onnx") || hasSuffix(o.modelPath, ".ONNX");
        o.backend = onnx ? Backend::kOPENCV : Backend::kTENSORRT;
    }
    if (o.backend != Backend::kOPENCV && o.backend != Backend::kTENSORRT)
    {
        throw Error(Status::kINVALID_ARGUMENT, "options: unknown backend");
    }
    return o;
}

//! \p view restricted to \p box (same pitch; the buffer length was checked for the whole view).
ImageView cropView(ImageView v, Box const& b)
{
    v.data += static_cast<size_t>(b.y0) * v.pitch + 3 * static_cast<size_t>(b.x0);
    v.height = b.y1 - b.y0;
    v.width = b.x1 - b.x0;
    v.size = 0;
    return v;
}

MaskView cropView(MaskView v, Box const& b)
{
    v.data += static_cast<size_t>(b.y0) * v.pitch + static_cast<size_t>(b.x0);
    v.height = b.y1 - b.y0;
    v.width = b.x1 - b.x0;
    v.size = 0;
    return v;
}

//! out = image, row by row (pitches may differ); nothing to do in place.
void copyImage(ImageView const& image, ImageView const& out)
{
    if (image.data == out.data)
    {
        return;
    }
    size_t const row = 3 * static_cast<size_t>(image.width);
    for (int32_t y = 0; y < image.height; ++y)
    {
        std::memmove(out.data + static_cast<size_t>(y) * out.pitch, image.data + static_cast<size_t>(y) * image.pitch, row);
    }
}

} // namespace

struct PreparedMask::Data
{
    int32_t height = 0;
    int32_t width = 0;
    std::vector<uint8_t> mask; //!< tightly packed copy, nonzero = hole
    std::vector<Box> boxes;
    bool empty = true;
    Strategy strategy = Strategy::kRESIZE;
    int32_t modelSize = 0;
    int32_t cropMargin = 0;

    MaskView view() const
    {
        return MaskView{mask.data(), height, width, static_cast<size_t>(width), mask.size()};
    }
};

int32_t PreparedMask::height() const noexcept
{
    return mData ? mData->height : 0;
}

int32_t PreparedMask::width() const noexcept
{
    return mData ? mData->width : 0;
}

std::vector<Box> const& PreparedMask::boxes() const
{
    static std::vector<Box> const none;
    return mData ? mData->boxes : none;
}

bool PreparedMask::empty() const noexcept
{
    return !mData || mData->empty;
}

struct Inpainter::Impl
{
    Options options;
    std::unique_ptr<detail::Backend> backend;
    StageTimes times;

    //! Runs validated whole-image jobs; under kCROP, \p boxes[i] are the crops of item i.
    void dispatch(std::vector<Job> const& whole, std::vector<std::vector<Box>> const& boxes);

    //! Model shape of one job (and its region) under the configured strategy.
    void shape(Job& job, int32_t& modelH, int32_t& modelW) const
    {
        if (options.strategy == Strategy::kRESIZE || options.strategy == Strategy::kCROP)
        {
            modelH = modelW = job.regionH = job.regionW = options.modelSize;
            return;
        }
        job.regionH = job.image.height;
        job.regionW = job.image.width;
        modelH = detail::contract::roundUpToMultiple(job.image.height);
        modelW = detail::contract::roundUpToMultiple(job.image.width);
        if (modelH > kMAX_MODEL_SIZE || modelW > kMAX_MODEL_SIZE)
        {
            throw Error(Status::kINVALID_ARGUMENT,
                "strategy 'original': the image is " + dims(job.image.height, job.image.width)
                    + ", larger than the largest model tensor (" + std::to_string(kMAX_MODEL_SIZE)
                    + " a side); use the resize strategy");
        }
    }
};

Inpainter::Inpainter(Options const& options)
    : mImpl(std::make_unique<Impl>())
{
    mImpl->options = resolveOptions(options);
    mImpl->backend = mImpl->options.backend == Backend::kOPENCV ? detail::createOpenCvBackend(mImpl->options)
                                                                  : detail::createTensorRtBackend(mImpl->options);
}

Inpainter::~Inpainter() = default;
Inpainter::Inpainter(Inpainter&&) noexcept = default;
Inpainter& Inpainter::operator=(Inpainter&&) noexcept = default;

void Inpainter::run(ImageView const& image, MaskView const& mask, ImageView const& out)
{
    run(std::vector<ImageView>{image}, std::vector<MaskView>{mask}, std::vector<ImageView>{out});
}

void Inpainter::run(
    std::vector<ImageView> const& images, std::vector<MaskView> const& masks, std::vector<ImageView> const& outs)
{
    if (!mImpl)
    {
        throw Error(Status::kINVALID_ARGUMENT, "Inpainter was moved from");
    }
    if (images.size() != masks.size() || images.size() != outs.size())
    {
        throw Error(Status::kINVALID_ARGUMENT, "batch: images, masks and outputs differ in count");
    }
    // Validate everything before running anything, so a bad item leaves all outputs untouched.
    std::vector<Job> whole;
    for (size_t i = 0; i < images.size(); ++i)
    {
        whole.push_back(makeJob(images[i], masks[i], outs[i]));
    }
    std::vector<std::vector<Box>> boxes(whole.size());
    if (mImpl->options.strategy == Strategy::kCROP)
    {
        for (size_t i = 0; i < whole.size(); ++i)
        {
            boxes[i] = holeBoxes(whole[i].mask, mImpl->options.modelSize, mImpl->options.cropMargin);
        }
    }
    mImpl->dispatch(whole, boxes);
}

PreparedMask Inpainter::prepareMask(MaskView const& mask) const
{
    if (!mImpl)
    {
        throw Error(Status::kINVALID_ARGUMENT, "Inpainter was moved from");
    }
    if (mask.data == nullptr || mask.height <= 0 || mask.width <= 0)
    {
        throw Error(Status::kINVALID_ARGUMENT, "prepareMask: empty or null mask");
    }
    size_t const pitch = mask.pitch == 0 ? static_cast<size_t>(mask.width) : mask.pitch;
    if (pitch < static_cast<size_t>(mask.width))
    {
        throw Error(Status::kINVALID_ARGUMENT, "prepareMask: mask row pitch < width");
    }
    checkExtent("mask", mask.height, pitch, static_cast<size_t>(mask.width), mask.size);
    auto data = std::make_shared<PreparedMask::Data>();
    data->height = mask.height;
    data->width = mask.width;
    data->mask.resize(static_cast<size_t>(mask.height) * mask.width);
    for (int32_t y = 0; y < mask.height; ++y)
    {
        uint8_t const* row = mask.data + static_cast<size_t>(y) * pitch;
        uint8_t* dst = data->mask.data() + static_cast<size_t>(y) * mask.width;
        for (int32_t x = 0; x < mask.width; ++x)
        {
            dst[x] = row[x] != 0 ? 1 : 0;
            data->empty = data->empty && dst[x] == 0;
        }
    }
    data->strategy = mImpl->options.strategy;
    data->modelSize = mImpl->options.modelSize;
    data->cropMargin = mImpl->options.cropMargin;
    if (data->strategy == Strategy::kCROP)
    {
        data->boxes = holeBoxes(data->view(), data->modelSize, data->cropMargin);
    }
    else
    {
        data->boxes = {Box{0, 0, mask.width, mask.height}};
    }
    PreparedMask prepared;
    prepared.mData = std::move(data);
    return prepared;
}

void Inpainter::runPrepared(ImageView const& image, PreparedMask const& mask, ImageView const& out)
{
    if (!mImpl)
    {
        throw Error(Status::kINVALID_ARGUMENT, "Inpainter was moved from");
    }
    if (!mask.mData)
    {
        throw Error(Status::kINVALID_ARGUMENT, "runPrepared: the PreparedMask is empty (use Inpainter::prepareMask)");
    }
    PreparedMask::Data const& d = *mask.mData;
    Options const& o = mImpl->options;
    if (d.strategy != o.strategy || d.modelSize != o.modelSize || d.cropMargin != o.cropMargin)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "runPrepared: the mask was prepared for another strategy, modelSize or cropMargin than this inpainter's");
    }
    std::vector<Job> whole{makeJob(image, d.view(), out)};
    std::vector<std::vector<Box>> boxes(1);
    if (d.strategy == Strategy::kCROP)
    {
        boxes[0] = d.boxes;
    }
    mImpl->dispatch(whole, boxes);
}

void Inpainter::Impl::dispatch(std::vector<Job> const& whole, std::vector<std::vector<Box>> const& boxes)
{
    std::vector<Job> jobs;
    std::vector<std::pair<int32_t, int32_t>> shapes;
    for (size_t i = 0; i < whole.size(); ++i)
    {
        if (options.strategy != Strategy::kCROP)
        {
            jobs.push_back(whole[i]);
            int32_t h = 0, w = 0;
            shape(jobs.back(), h, w);
            shapes.emplace_back(h, w);
            continue;
        }
        // Pixels outside every box are known: copied here, the crops' composite does the rest.
        copyImage(whole[i].image, whole[i].out);
        for (Box const& b : boxes[i])
        {
            Job crop{cropView(whole[i].image, b), cropView(whole[i].mask, b), cropView(whole[i].out, b), 0, 0};
            int32_t h = 0, w = 0;
            shape(crop, h, w);
            jobs.push_back(crop);
            shapes.emplace_back(h, w);
        }
    }
    StageTimes total;
    // Consecutive items of one model shape form one backend batch.
    for (size_t begin = 0; begin < jobs.size();)
    {
        size_t end = begin + 1;
        while (end < jobs.size() && shapes[end] == shapes[begin])
        {
            ++end;
        }
        std::vector<Job> const group(jobs.begin() + static_cast<std::ptrdiff_t>(begin),
            jobs.begin() + static_cast<std::ptrdiff_t>(end));
        StageTimes t;
        backend->run(group, shapes[begin].first, shapes[begin].second, t);
        total.preprocessMs += t.preprocessMs;
        total.inferMs += t.inferMs;
        total.compositeMs += t.compositeMs;
        begin = end;
    }
    times = total;
}

void Inpainter::infer(float const* image, float const* mask, int32_t n, int32_t h, int32_t w, float* prediction)
{
    if (!mImpl)
    {
        throw Error(Status::kINVALID_ARGUMENT, "Inpainter was moved from");
    }
    if (image == nullptr || mask == nullptr || prediction == nullptr)
    {
        throw Error(Status::kINVALID_ARGUMENT, "infer: null tensor pointer");
    }
    if (n <= 0 || h <= 0 || w <= 0)
    {
        throw Error(Status::kINVALID_ARGUMENT, "infer: tensor sizes must be positive");
    }
    mImpl->backend->infer(image, mask, n, h, w, prediction);
}

StageTimes Inpainter::lastTimes() const
{
    return mImpl ? mImpl->times : StageTimes{};
}

char const* Inpainter::backendName() const
{
    return mImpl ? mImpl->backend->name() : "";
}

Options const& Inpainter::options() const
{
    if (!mImpl)
    {
        throw Error(Status::kINVALID_ARGUMENT, "Inpainter was moved from");
    }
    return mImpl->options;
}

char const* version() noexcept
{
    return RMNET_VERSION_STRING;
}

char const* buildInfo() noexcept
{
    return RMNET_BUILD_INFO;
}

} // namespace rmnet
