//! JSON reader, SHA-256 and engine-sidecar checks (no TensorRT or GPU needed). The sidecar rule is
//! held to the vectors in tests/data/sidecar_vectors/, which the Python tests read too.
#include "check.hpp"

#include "json.hpp"
#include "sha256.hpp"
#include "sidecar.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

using namespace rmnet::detail;

namespace {

std::string const kENGINE = "engine bytes";

//! A sidecar that matches kENGINE, TensorRT 11.1.0 and sm87 unless the arguments differ.
std::string sidecar(std::string const& trt, std::string const& cc, std::string const& precision)
{
    return "{\"flavour\": \"tensorrt\", \"onnx_sha256\": \"" + std::string(64, 'a') + "\", \"trt_version\": \"" + trt
        + "\", \"compute_capability\": " + cc + ", \"precision\": \"" + precision
        + "\", \"engine_bytes\": " + std::to_string(kENGINE.size()) + ", \"engine_sha256\": \""
        + sha256Hex(kENGINE.data(), kENGINE.size())
        + "\", \"profiles\": [{\"min\": [1,256,256], \"opt\": [1,256,256], \"max\": [4,256,256]}]}";
}

SidecarExpectation expect()
{
    SidecarExpectation e;
    e.trtVersion = 110100; // 11.1.0
    e.computeCapability = 87;
    e.precision = rmnet::Precision::kFP16;
    e.onnxSha256 = std::string(64, 'a');
    return e;
}

std::vector<SidecarProblem> problems(std::string const& json, SidecarExpectation const& e = expect())
{
    return sidecarProblems(json, kENGINE.data(), kENGINE.size(), e);
}

std::string readText(std::filesystem::path const& p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string quote(std::string const& s)
{
    std::string out = "\"";
    for (char c : s)
    {
        out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    }
    return out + "\"";
}

//! A small JSON writer for re-serialising a vector's sidecar object (the C++ side parses text).
std::string toJson(JsonValue const& v)
{
    switch (v.type)
    {
    case JsonValue::Type::kNULL: return "null";
    case JsonValue::Type::kBOOL: return v.boolean ? "true" : "false";
    case JsonValue::Type::kNUMBER:
    {
        std::ostringstream o;
        o.precision(17);
        o << v.number;
        return o.str();
    }
    case JsonValue::Type::kSTRING: return quote(v.string);
    case JsonValue::Type::kARRAY:
    {
        std::string out = "[";
        for (size_t i = 0; i < v.array.size(); ++i)
        {
            out += (i ? "," : "") + toJson(v.array[i]);
        }
        return out + "]";
    }
    case JsonValue::Type::kOBJECT:
    {
        std::string out = "{";
        for (size_t i = 0; i < v.object.size(); ++i)
        {
            out += (i ? "," : "") + quote(v.object[i].first) + ":" + toJson(v.object[i].second);
        }
        return out + "}";
    }
    }
    return "null";
}

int32_t versionNumber(std::string const& s)
{
    int a = 0, b = 0, c = 0;
    std::sscanf(s.c_str(), "%d.%d.%d", &a, &b, &c);
    return a * 10000 + b * 100 + c;
}

int32_t ccNumber(std::string const& s)
{
    int a = 0, b = 0;
    std::sscanf(s.c_str(), "%d.%d", &a, &b);
    return a * 10 + b;
}

} // namespace

TEST(sha256KnownAnswers)
{
    CHECK(sha256Hex("", 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256Hex("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string const two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; // 56 bytes: two padding blocks
    CHECK(sha256Hex(two.data(), two.size()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    std::string const million(1000000, 'a');
    CHECK(sha256Hex(million.data(), million.size()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(jsonParsesValues)
{
    JsonValue const v = parseJson(R"({"a": [1, -2.5e1, true, null], "b": "x\"\u00e9", "c": {}})");
    CHECK(v.type == JsonValue::Type::kOBJECT);
    CHECK(v.find("a")->array.size() == 4);
    CHECK(v.find("a")->array[1].number == -25.0);
    CHECK(v.find("a")->array[2].boolean);
    CHECK(v.find("b")->string == "x\"\xc3\xa9");
    CHECK(v.find("missing") == nullptr);
}

TEST(jsonRejectsMalformed)
{
    for (char const* bad : {"", "{", "{\"a\" 1}", "[1,]", "tru", "\"unterminated", "{} x", "[01x]"})
    {
        bool threw = false;
        try
        {
            parseJson(bad);
        }
        catch (std::runtime_error const&)
        {
            threw = true;
        }
        CHECK(threw);
    }
    std::string deep(1000, '[');
    bool threw = false;
    try
    {
        parseJson(deep);
    }
    catch (std::runtime_error const&)
    {
        threw = true;
    }
    CHECK(threw);
}

TEST(sidecarMatches)
{
    CHECK(problems(sidecar("11.1.0.106", "\"8.7\"", "fp16")).empty());
    CHECK(problems(sidecar("11.1.0", "87", "float16")).empty());
    CHECK(problems(sidecar("11.1", "[8, 7]", "FP16")).empty());
    CHECK(problems(sidecar("11.1.0", "\"sm_87\"", "fp16")).empty());
}

TEST(sidecarMismatches)
{
    CHECK(problems(sidecar("10.3.0", "\"8.7\"", "fp16")).size() == 1);
    CHECK(problems(sidecar("11.1.0", "\"9.0\"", "fp16")).size() == 1);
    CHECK(problems(sidecar("11.1.0", "\"8.7\"", "fp32")).size() == 1);
    SidecarExpectation other = expect();
    other.onnxSha256 = std::string(64, 'b');
    CHECK(problems(sidecar("11.1.0", "\"8.7\"", "fp16"), other).size() == 1);
    CHECK(problems("{}").size() == 6); // every required key missing, and nothing to check the engine against
    CHECK(problems("not json").size() == 1);
    CHECK(problems("[1, 2]").size() == 1);
}

TEST(sidecarRefusesAReplacedEngine)
{
    std::string const json = sidecar("11.1.0", "\"8.7\"", "fp16");
    std::string const other = "ENGINE BYTES"; // same size, other bytes
    auto const p = sidecarProblems(json, other.data(), other.size(), expect());
    CHECK(p.size() == 1 && p[0].reason == "integrity");
    auto const q = sidecarProblems(json, kENGINE.data(), kENGINE.size() - 1, expect());
    CHECK(q.size() == 1 && q[0].reason == "integrity");
}

TEST(sidecarRtxRefusalSaysHowToProceed)
{
    std::string rtx = sidecar("11.1.0", "\"8.7\"", "fp16");
    rtx.replace(rtx.find("\"tensorrt\""), 10, "\"tensorrt-rtx\"");
    auto const p = problems(rtx);
    CHECK(p.size() == 1 && p[0].reason == "flavour");
    CHECK(!p.empty() && p[0].message.find("Python SDK") != std::string::npos
        && p[0].message.find("rmnet-sidecar") != std::string::npos);
}

//! Every shared vector: the same set of reason classes as the Python check (tests/test_sidecar_vectors.py).
TEST(sidecarSharedVectors)
{
    namespace fs = std::filesystem;
    int count = 0;
    for (fs::directory_entry const& entry : fs::directory_iterator(RMNET_SIDECAR_VECTORS))
    {
        if (entry.path().extension() != ".json")
        {
            continue;
        }
        ++count;
        JsonValue const v = parseJson(readText(entry.path()));
        std::string const engine = v.find("engine_text")->string;
        std::string const json = v.find("sidecar_text") ? v.find("sidecar_text")->string : toJson(*v.find("sidecar"));
        JsonValue const& rt = *v.find("runtime");
        SidecarExpectation e;
        e.flavour = rt.find("flavour")->string;
        e.trtVersion = versionNumber(rt.find("trt_version")->string);
        e.computeCapability = ccNumber(rt.find("compute_capability")->string);
        JsonValue const* precision = rt.find("precision");
        e.precision = precision->type != JsonValue::Type::kSTRING ? rmnet::Precision::kAUTO
            : precision->string == "fp16"                         ? rmnet::Precision::kFP16
                                                                  : rmnet::Precision::kFP32;
        JsonValue const* onnx = rt.find("onnx_sha256");
        e.onnxSha256 = onnx->type == JsonValue::Type::kSTRING ? onnx->string : "";
        std::set<std::string> want, got;
        for (JsonValue const& r : v.find("reasons")->array)
        {
            want.insert(r.string);
        }
        for (SidecarProblem const& p : sidecarProblems(json, engine.data(), engine.size(), e))
        {
            got.insert(p.reason);
        }
        if (want != got)
        {
            std::printf("  vector %s: reasons differ\n", entry.path().filename().string().c_str());
            for (SidecarProblem const& p : sidecarProblems(json, engine.data(), engine.size(), e))
            {
                std::printf("    %s: %s\n", p.reason.c_str(), p.message.c_str());
            }
        }
        CHECK(want == got);
    }
    CHECK(count >= 20);
}

TEST(sidecarFileLookup)
{
    std::string const engine = "rmnet_test_sidecar.engine";
    std::vector<char> const blob(kENGINE.begin(), kENGINE.end());
    std::remove((engine + ".json").c_str());
    CHECK_THROWS_CODE(checkSidecar(engine, blob, expect()), rmnet::Status::kENGINE_MISMATCH);
    {
        std::ofstream(engine + ".json") << sidecar("11.1.0", "\"8.7\"", "fp16");
    }
    checkSidecar(engine, blob, expect()); // does not throw
    SidecarExpectation wrongGpu = expect();
    wrongGpu.computeCapability = 90;
    CHECK_THROWS_CODE(checkSidecar(engine, blob, wrongGpu), rmnet::Status::kENGINE_MISMATCH);
    std::vector<char> replaced = blob;
    replaced[0] = 'E';
    CHECK_THROWS_CODE(checkSidecar(engine, replaced, expect()), rmnet::Status::kENGINE_MISMATCH);
    std::remove((engine + ".json").c_str());
}

TEST_MAIN()
