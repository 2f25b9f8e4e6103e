//! \file sidecar.cpp
#include "sidecar.hpp"

#include "json.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rmnet {
namespace detail {
namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

//! Leading integers of "11.1.0.106" -> {11, 1, 0, 106}.
std::vector<int32_t> versionParts(std::string const& s)
{
    std::vector<int32_t> parts;
    std::istringstream in(s);
    std::string item;
    while (std::getline(in, item, '.') && !item.empty() && std::isdigit(static_cast<unsigned char>(item[0])))
    {
        parts.push_back(std::atoi(item.c_str()));
    }
    return parts;
}

std::string versionString(int32_t v)
{
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

//! "8.7", "87", "sm_87", 8.7, 87 or [8, 7] -> 87; -1 when unreadable.
int32_t computeCapability(JsonValue const& v)
{
    if (v.type == JsonValue::Type::kARRAY && v.array.size() == 2 && v.array[0].type == JsonValue::Type::kNUMBER
        && v.array[1].type == JsonValue::Type::kNUMBER)
    {
        return static_cast<int32_t>(v.array[0].number) * 10 + static_cast<int32_t>(v.array[1].number);
    }
    std::string s;
    if (v.type == JsonValue::Type::kNUMBER)
    {
        double const d = v.number;
        return d < 20.0 ? static_cast<int32_t>(std::lround(d * 10.0)) : static_cast<int32_t>(std::lround(d));
    }
    if (v.type != JsonValue::Type::kSTRING)
    {
        return -1;
    }
    s = lower(v.string);
    if (s.rfind("sm_", 0) == 0)
    {
        s = s.substr(3);
    }
    std::vector<int32_t> const parts = versionParts(s);
    if (parts.size() >= 2)
    {
        return parts[0] * 10 + parts[1];
    }
    return parts.size() == 1 ? parts[0] : -1;
}

//! Normalised precision name ("fp16", "fp32", or the sidecar's own spelling).
std::string precisionName(std::string const& s)
{
    std::string const l = lower(s);
    if (l == "fp16" || l == "float16" || l == "half")
    {
        return "fp16";
    }
    if (l == "fp32" || l == "float32" || l == "float")
    {
        return "fp32";
    }
    return l;
}

} // namespace

std::vector<std::string> sidecarProblems(std::string const& json, SidecarExpectation const& expect)
{
    JsonValue doc;
    try
    {
        doc = parseJson(json);
    }
    catch (std::runtime_error const& e)
    {
        return {std::string("sidecar is not valid JSON (") + e.what() + ")"};
    }
    if (doc.type != JsonValue::Type::kOBJECT)
    {
        return {"sidecar is not a JSON object"};
    }
    std::vector<std::string> problems;
    for (char const* key : {"onnx_sha256", "trt_version", "compute_capability", "precision", "profiles"})
    {
        if (doc.find(key) == nullptr)
        {
            problems.push_back(std::string("sidecar lacks \"") + key + "\"");
        }
    }
    if (JsonValue const* v = doc.find("onnx_sha256"))
    {
        if (v->type != JsonValue::Type::kSTRING || v->string.size() != 64)
        {
            problems.emplace_back("onnx_sha256 is not a 64-digit hex string");
        }
        else if (!expect.onnxSha256.empty() && lower(v->string) != lower(expect.onnxSha256))
        {
            problems.push_back("onnx_sha256 " + v->string + " != expected " + expect.onnxSha256);
        }
    }
    if (JsonValue const* v = doc.find("trt_version"))
    {
        std::vector<int32_t> const parts
            = v->type == JsonValue::Type::kSTRING ? versionParts(v->string) : std::vector<int32_t>{};
        std::vector<int32_t> const have{expect.trtVersion / 10000, expect.trtVersion / 100 % 100, expect.trtVersion % 100};
        // Engines are tied to major.minor.patch; a build number in the sidecar is not compared.
        bool ok = parts.size() >= 2;
        for (size_t i = 0; ok && i < parts.size() && i < 3; ++i)
        {
            ok = parts[i] == have[i];
        }
        if (!ok)
        {
            problems.push_back("engine built with TensorRT "
                + (v->type == JsonValue::Type::kSTRING ? v->string : std::string("?")) + ", this is TensorRT "
                + versionString(expect.trtVersion));
        }
    }
    if (JsonValue const* v = doc.find("compute_capability"))
    {
        int32_t const cc = computeCapability(*v);
        if (cc != expect.computeCapability)
        {
            problems.push_back("engine built for compute capability " + std::to_string(cc / 10) + "."
                + std::to_string(cc % 10) + ", this GPU is " + std::to_string(expect.computeCapability / 10) + "."
                + std::to_string(expect.computeCapability % 10));
        }
    }
    if (JsonValue const* v = doc.find("precision"))
    {
        if (v->type != JsonValue::Type::kSTRING)
        {
            problems.emplace_back("precision is not a string");
        }
        else if (expect.precision != Precision::kAUTO)
        {
            std::string const want = expect.precision == Precision::kFP16 ? "fp16" : "fp32";
            if (precisionName(v->string) != want)
            {
                problems.push_back("engine precision " + v->string + " != requested " + want);
            }
        }
    }
    // Optional: rmnet_sdk.export also builds TensorRT-RTX engines, a different product and ABI.
    if (JsonValue const* v = doc.find("flavour"))
    {
        if (v->type != JsonValue::Type::kSTRING || lower(v->string) != "tensorrt")
        {
            problems.push_back("engine flavour " + (v->type == JsonValue::Type::kSTRING ? v->string : std::string("?"))
                + " is not standard TensorRT");
        }
    }
    if (JsonValue const* v = doc.find("profiles"))
    {
        bool const empty = (v->type == JsonValue::Type::kARRAY && v->array.empty())
            || (v->type == JsonValue::Type::kOBJECT && v->object.empty());
        if (empty || (v->type != JsonValue::Type::kARRAY && v->type != JsonValue::Type::kOBJECT))
        {
            problems.emplace_back("profiles is empty or not a list");
        }
    }
    return problems;
}

std::string findSidecar(std::string const& enginePath)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string const appended = enginePath + ".json";
    if (fs::is_regular_file(appended, ec))
    {
        return appended;
    }
    std::string const replaced = fs::path(enginePath).replace_extension(".json").string();
    if (replaced != enginePath && fs::is_regular_file(replaced, ec))
    {
        return replaced;
    }
    return {};
}

void checkSidecar(std::string const& enginePath, SidecarExpectation const& expect)
{
    std::string const path = findSidecar(enginePath);
    if (path.empty())
    {
        throw Error(Status::kENGINE_MISMATCH,
            "no sidecar " + enginePath + ".json next to the engine (export it with rmnet_sdk, or set "
            "checkSidecar=false to load an engine you trust without one)");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::vector<std::string> const problems = sidecarProblems(text.str(), expect);
    if (!problems.empty())
    {
        std::string msg = "engine " + enginePath + " does not match its sidecar " + path + ":";
        for (auto const& p : problems)
        {
            msg += "\n  - " + p;
        }
        throw Error(Status::kENGINE_MISMATCH, msg);
    }
}

} // namespace detail
} // namespace rmnet
