//! \file sidecar.cpp
#include "sidecar.hpp"

#include "json.hpp"
#include "json_schema.hpp"
#include "sha256.hpp"
#include "sidecar_schema.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
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

//! Every capability a "compute_capability" value names: "8.7", "87", "sm_87", 8.7, 87, [8, 7], or a
//! list of those (a multi-target TensorRT-RTX engine). Empty when unreadable.
std::vector<int32_t> computeCapabilities(JsonValue const& v)
{
    bool const pair = v.type == JsonValue::Type::kARRAY && v.array.size() == 2
        && v.array[0].type == JsonValue::Type::kNUMBER && v.array[1].type == JsonValue::Type::kNUMBER
        && v.array[0].number < 20.0 && v.array[1].number < 10.0;
    if (v.type != JsonValue::Type::kARRAY || pair)
    {
        int32_t const cc = computeCapability(v);
        return cc > 0 ? std::vector<int32_t>{cc} : std::vector<int32_t>{};
    }
    std::vector<int32_t> out;
    for (JsonValue const& item : v.array)
    {
        int32_t const cc = computeCapability(item);
        if (cc <= 0)
        {
            return {};
        }
        out.push_back(cc);
    }
    return out;
}

std::string ccString(int32_t cc)
{
    return std::to_string(cc / 10) + "." + std::to_string(cc % 10);
}

//! Jetson/DRIVE GPUs: TensorRT's hardware-compatible engines do not run on them.
bool isJetson(int32_t cc)
{
    return cc == 72 || cc == 87 || cc == 101 || cc == 110;
}

//! The checked-in sidecar schema (rmnet_sdk/contract/engine_sidecar.schema.json, embedded at build
//! time), compiled on first use. A schema this validator cannot enforce throws Error(kINTERNAL) here.
JsonSchema const& sidecarSchema()
{
    static JsonSchema const schema = [] {
        try
        {
            return JsonSchema(parseJson(kSIDECAR_SCHEMA));
        }
        catch (Error const&)
        {
            throw;
        }
        catch (std::runtime_error const& e)
        {
            throw Error(Status::kINTERNAL, std::string("the embedded sidecar schema is not JSON: ") + e.what());
        }
    }();
    return schema;
}

//! The engine's bytes against the sidecar's engine_bytes/engine_sha256 (at most one problem).
void addIntegrityProblems(
    JsonValue const& doc, void const* engine, size_t engineBytes, std::vector<SidecarProblem>& problems)
{
    // Checked on every path: a replaced engine next to an old sidecar would otherwise load as the old model.
    JsonValue const* sha = doc.find("engine_sha256");
    JsonValue const* bytes = doc.find("engine_bytes");
    if (sha == nullptr || bytes == nullptr || sha->type != JsonValue::Type::kSTRING
        || bytes->type != JsonValue::Type::kNUMBER)
    {
        problems.push_back({"integrity",
            "sidecar has no engine_sha256/engine_bytes to check the engine against (write them with "
            "rmnet-sidecar ENGINE --onnx MODEL.onnx)"});
    }
    else if (bytes->number != static_cast<double>(engineBytes))
    {
        char said[32];
        std::snprintf(said, sizeof(said), "%.0f", bytes->number);
        problems.push_back({"integrity",
            "engine is " + std::to_string(engineBytes) + " bytes, the sidecar says " + said
                + " (truncated or replaced file)"});
    }
    else if (lower(sha->string) != sha256Hex(engine, engineBytes))
    {
        problems.push_back({"integrity", "engine sha256 differs from the sidecar's (corrupt or replaced file)"});
    }
}

//! One (N, H, W) of a profile: three integers from 1 to INT32_MAX.
bool readShape(JsonValue const* v, int32_t out[3])
{
    if (v == nullptr || v->type != JsonValue::Type::kARRAY || v->array.size() != 3)
    {
        return false;
    }
    for (size_t i = 0; i < 3; ++i)
    {
        JsonValue const& item = v->array[i];
        if (item.type != JsonValue::Type::kNUMBER || std::floor(item.number) != item.number || item.number < 1.0
            || item.number > static_cast<double>(std::numeric_limits<int32_t>::max()))
        {
            return false;
        }
        out[i] = static_cast<int32_t>(item.number);
    }
    return true;
}

} // namespace

std::vector<ProfileRange> sidecarProfiles(JsonValue const& sidecar)
{
    JsonValue const* profiles = sidecar.find("profiles");
    if (profiles == nullptr || profiles->type != JsonValue::Type::kARRAY || profiles->array.empty())
    {
        throw Error(Status::kINVALID_ARGUMENT, "sidecar profiles is empty or not a list");
    }
    std::vector<ProfileRange> out;
    for (size_t i = 0; i < profiles->array.size(); ++i)
    {
        JsonValue const& p = profiles->array[i];
        ProfileRange r;
        if (!readShape(p.find("min"), r.min) || !readShape(p.find("opt"), r.opt) || !readShape(p.find("max"), r.max))
        {
            throw Error(Status::kINVALID_ARGUMENT,
                "sidecar profile " + std::to_string(i) + " is not {\"min\", \"opt\", \"max\"}, each (N, H, W) with "
                "positive integers");
        }
        for (int axis = 0; axis < 3; ++axis)
        {
            if (!(r.min[axis] <= r.opt[axis] && r.opt[axis] <= r.max[axis]))
            {
                throw Error(Status::kINVALID_ARGUMENT,
                    "sidecar profile " + std::to_string(i) + ": " + "NHW"[axis] + " needs min <= opt <= max");
            }
        }
        out.push_back(r);
    }
    return out;
}

std::vector<SidecarProblem> sidecarProblems(
    std::string const& json, void const* engine, size_t engineBytes, SidecarExpectation const& expect)
{
    JsonValue doc;
    try
    {
        doc = parseJson(json);
    }
    catch (std::runtime_error const& e)
    {
        return {{"malformed", std::string("sidecar is not valid JSON (") + e.what() + ")"}};
    }
    if (doc.type != JsonValue::Type::kOBJECT)
    {
        return {{"malformed", "sidecar is not a JSON object"}};
    }
    std::vector<SidecarProblem> problems;
    for (SchemaViolation const& v : sidecarSchema().validate(doc))
    {
        problems.push_back({"malformed", "sidecar " + (v.path.empty() ? std::string("(root)") : v.path) + ": " + v.message});
    }
    bool const conforms = problems.empty();
    addIntegrityProblems(doc, engine, engineBytes, problems);
    if (!conforms)
    {
        return problems;
    }

    // The schema holds from here on: the required keys are there, with the types it names.
    JsonValue const* flavourValue = doc.find("flavour");
    std::string const flavour = flavourValue != nullptr ? lower(flavourValue->string) : std::string("tensorrt");
    if (flavour != expect.flavour)
    {
        std::string msg = "engine flavour " + flavour + ", this runtime runs " + expect.flavour + " engines";
        if (flavour == "tensorrt-rtx" && expect.flavour == "tensorrt")
        {
            msg += ": the C++ runtime links standard TensorRT, which cannot deserialise TensorRT-RTX engines. "
                   "Run this engine with the Python SDK (pip install tensorrt-rtx-cu13; "
                   "rmnet_sdk.Inpainter(\"model.engine\")), or build a standard TensorRT engine on the target GPU "
                   "(rmnet-export --engine there, or trtexec + rmnet-sidecar)";
        }
        problems.push_back({"flavour", msg});
    }

    std::string const& onnxSha = doc.find("onnx_sha256")->string;
    if (!expect.onnxSha256.empty() && lower(onnxSha) != lower(expect.onnxSha256))
    {
        problems.push_back({"onnx_sha256", "onnx_sha256 " + onnxSha + " != expected " + expect.onnxSha256});
    }
    {
        // The schema's pattern guarantees major.minor. Engines are tied to major.minor.patch; a
        // build number in the sidecar is not compared.
        std::string const& built = doc.find("trt_version")->string;
        std::vector<int32_t> const parts = versionParts(built);
        std::vector<int32_t> const have{expect.trtVersion / 10000, expect.trtVersion / 100 % 100, expect.trtVersion % 100};
        bool ok = true;
        for (size_t i = 0; ok && i < parts.size() && i < 3; ++i)
        {
            ok = parts[i] == have[i];
        }
        if (!ok)
        {
            problems.push_back({"trt_version",
                "engine built with " + flavour + " " + built + ", this is " + expect.flavour + " "
                    + versionString(expect.trtVersion) + " (engines run only on the version that built them)"});
        }
    }
    {
        JsonValue const* h = doc.find("hardware_compatibility_level");
        std::string const level = h != nullptr ? lower(h->string) : std::string("none");
        std::vector<int32_t> const ccs = computeCapabilities(*doc.find("compute_capability"));
        int32_t const gpu = expect.computeCapability;
        if (ccs.empty())
        {
            problems.push_back({"malformed", "compute_capability is unreadable"});
        }
        else if (level == "ampere_plus")
        {
            if (gpu < 80 || isJetson(gpu))
            {
                problems.push_back({"compute_capability",
                    "engine is hardware-compatible (ampere_plus), which runs on sm80 and newer except Jetson/DRIVE; "
                    "this GPU is " + ccString(gpu) + ": build the engine on this device"});
            }
        }
        else if (level == "none" || level == "same_compute_capability")
        {
            if (std::find(ccs.begin(), ccs.end(), gpu) == ccs.end())
            {
                std::string built;
                for (int32_t cc : ccs)
                {
                    built += (built.empty() ? "" : ", ") + ccString(cc);
                }
                problems.push_back({"compute_capability",
                    "engine built for compute capability " + built + ", this GPU is " + ccString(gpu)});
            }
        }
        else
        {
            problems.push_back({"malformed", "unknown hardware_compatibility_level " + level});
        }
    }
    if (expect.precision != Precision::kAUTO)
    {
        std::string const& have = doc.find("precision")->string;
        std::string const want = expect.precision == Precision::kFP16 ? "fp16" : "fp32";
        if (precisionName(have) != want)
        {
            problems.push_back({"precision", "engine precision " + have + " != requested " + want});
        }
    }
    try
    {
        sidecarProfiles(doc);
    }
    catch (Error const& e)
    {
        problems.push_back({"malformed", e.what()});
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

void checkSidecar(std::string const& enginePath, std::vector<char> const& engine, SidecarExpectation const& expect)
{
    std::string const path = findSidecar(enginePath);
    if (path.empty())
    {
        throw Error(Status::kENGINE_MISMATCH,
            "no sidecar " + enginePath + ".json next to the engine (write one with rmnet-export, or with "
            "rmnet-sidecar for an engine built by trtexec; or set checkSidecar=false to load an engine you trust "
            "without one)");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::vector<SidecarProblem> const problems = sidecarProblems(text.str(), engine.data(), engine.size(), expect);
    if (!problems.empty())
    {
        std::string msg = "engine " + enginePath + " does not match its sidecar " + path + ":";
        for (auto const& p : problems)
        {
            msg += "\n  - " + p.message;
        }
        throw Error(Status::kENGINE_MISMATCH, msg);
    }
}

} // namespace detail
} // namespace rmnet
