//! \file standin_engine.cpp
#include "standin_engine.hpp"

#include "json.hpp"
#include "rmnet/inpainter.hpp"

#if RMNET_WITH_CUDA
#include "launchers.h"
#endif

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rmnet {
namespace detail {
namespace {

bool readShape(JsonValue const* v, int32_t out[3])
{
    if (v == nullptr || v->type != JsonValue::Type::kARRAY || v->array.size() != 3)
    {
        return false;
    }
    for (size_t i = 0; i < 3; ++i)
    {
        if (v->array[i].type != JsonValue::Type::kNUMBER || v->array[i].number < 1 || v->array[i].number > 1e6)
        {
            return false;
        }
        out[i] = static_cast<int32_t>(v->array[i].number);
    }
    return true;
}

} // namespace

bool isStandinPath(std::string const& path)
{
    std::string const suffix = ".standin";
    return path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StandinSpec parseStandinSpec(std::string const& json, std::string const& path)
{
    auto const bad = [&](std::string const& why) {
        return Error(Status::kMODEL_INVALID, "stand-in engine " + path + ": " + why);
    };
    JsonValue doc;
    try
    {
        doc = parseJson(json);
    }
    catch (std::runtime_error const& e)
    {
        throw bad(e.what());
    }
    JsonValue const* version = doc.find("rmnet_standin");
    if (version == nullptr || version->type != JsonValue::Type::kNUMBER || version->number != 1)
    {
        throw bad("needs \"rmnet_standin\": 1");
    }
    StandinSpec spec;
    if (JsonValue const* p = doc.find("precision"))
    {
        if (p->type != JsonValue::Type::kSTRING || (p->string != "fp32" && p->string != "fp16"))
        {
            throw bad("precision is fp32 or fp16");
        }
        spec.dtype = p->string == "fp16" ? kernels::DType::kHALF : kernels::DType::kFLOAT;
    }
    JsonValue const* profiles = doc.find("profiles");
    if (profiles == nullptr || profiles->type != JsonValue::Type::kARRAY || profiles->array.empty())
    {
        throw bad("needs a non-empty \"profiles\" list");
    }
    for (JsonValue const& p : profiles->array)
    {
        ProfileRange r;
        if (!readShape(p.find("min"), r.min) || !readShape(p.find("opt"), r.opt) || !readShape(p.find("max"), r.max))
        {
            throw bad("each profile has min, opt and max as [N, H, W] of positive integers");
        }
        for (int i = 0; i < 3; ++i)
        {
            if (!(r.min[i] <= r.opt[i] && r.opt[i] <= r.max[i]))
            {
                throw bad("a profile needs min <= opt <= max");
            }
        }
        spec.profiles.push_back(r);
    }
    if (JsonValue const* f = doc.find("fail_enqueue"))
    {
        spec.failEnqueue = f->type == JsonValue::Type::kBOOL && f->boolean;
    }
    return spec;
}

#if RMNET_WITH_CUDA
namespace {

class StandinEngine final : public GpuEngine
{
public:
    StandinEngine(StandinSpec spec, std::string path)
        : mSpec(std::move(spec))
        , mPath(std::move(path))
    {
    }
    kernels::DType inputType() const override
    {
        return mSpec.dtype;
    }
    kernels::DType outputType() const override
    {
        return mSpec.dtype;
    }
    std::vector<ProfileRange> const& profiles() const override
    {
        return mSpec.profiles;
    }
    void setShape(int32_t n, int32_t h, int32_t w, int32_t profile, cudaStream_t) override
    {
        if (profile < 0 || static_cast<size_t>(profile) >= mSpec.profiles.size()
            || !mSpec.profiles[static_cast<size_t>(profile)].accepts(n, h, w))
        {
            throw Error(Status::kINFERENCE_FAILED,
                "stand-in engine: profile " + std::to_string(profile) + " does not accept " + std::to_string(n) + "x"
                    + std::to_string(h) + "x" + std::to_string(w));
        }
        mN = n;
        mH = h;
        mW = w;
    }
    void setAddresses(void* image, void* mask, void* prediction) override
    {
        mImage = image;
        mMask = mask;
        mPrediction = prediction;
    }
    bool enqueue(cudaStream_t stream) override
    {
        if (mSpec.failEnqueue)
        {
            mLastError = "stand-in engine " + mPath + ": enqueue failure requested (fail_enqueue)";
            return false;
        }
        kernels::StandinParams const p{mImage, mMask, mPrediction, mSpec.dtype, mSpec.dtype, mN, mH, mW};
        cudaError_t const err = kernels::launchStandin(p, stream);
        if (err != cudaSuccess)
        {
            mLastError = std::string("launchStandin: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
            return false;
        }
        return true;
    }
    std::string lastError() const override
    {
        return mLastError;
    }

private:
    StandinSpec mSpec;
    std::string mPath;
    int32_t mN = 0, mH = 0, mW = 0;
    void* mImage = nullptr;
    void* mMask = nullptr;
    void* mPrediction = nullptr;
    std::string mLastError;
};

} // namespace

std::unique_ptr<GpuEngine> createStandinEngine(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
    {
        throw Error(Status::kMODEL_NOT_FOUND, "cannot open stand-in engine " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return std::make_unique<StandinEngine>(parseStandinSpec(text.str(), path), path);
}
#endif

} // namespace detail
} // namespace rmnet
