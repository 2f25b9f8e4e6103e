//! JSON reader and engine-sidecar checks (no TensorRT or GPU needed).
#include "check.hpp"

#include "json.hpp"
#include "sidecar.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

using namespace rmnet::detail;

namespace {

std::string const kSHA(64, 'a');

std::string sidecar(std::string const& trt, std::string const& cc, std::string const& precision)
{
    return "{\"flavour\": \"tensorrt\", \"onnx_sha256\": \"" + kSHA + "\", \"trt_version\": \"" + trt
        + "\", \"compute_capability\": " + cc + ", \"precision\": \"" + precision
        + "\", \"profiles\": [{\"image\": {\"min\": [1,3,256,256], \"opt\": [1,3,256,256], \"max\": [4,3,256,256]}}]}";
}

SidecarExpectation expect()
{
    SidecarExpectation e;
    e.trtVersion = 110100; // 11.1.0
    e.computeCapability = 87;
    e.precision = rmnet::Precision::kFP16;
    e.onnxSha256 = kSHA;
    return e;
}

} // namespace

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
    CHECK(sidecarProblems(sidecar("11.1.0.106", "\"8.7\"", "fp16"), expect()).empty());
    CHECK(sidecarProblems(sidecar("11.1.0", "87", "float16"), expect()).empty());
    CHECK(sidecarProblems(sidecar("11.1", "[8, 7]", "FP16"), expect()).empty());
    CHECK(sidecarProblems(sidecar("11.1.0", "\"sm_87\"", "fp16"), expect()).empty());
}

TEST(sidecarMismatches)
{
    CHECK(sidecarProblems(sidecar("10.3.0", "\"8.7\"", "fp16"), expect()).size() == 1);
    CHECK(sidecarProblems(sidecar("11.1.0", "\"9.0\"", "fp16"), expect()).size() == 1);
    CHECK(sidecarProblems(sidecar("11.1.0", "\"8.7\"", "fp32"), expect()).size() == 1);
    SidecarExpectation other = expect();
    other.onnxSha256 = std::string(64, 'b');
    CHECK(sidecarProblems(sidecar("11.1.0", "\"8.7\"", "fp16"), other).size() == 1);
    CHECK(sidecarProblems("{}", expect()).size() == 5); // every required key missing
    std::string rtx = sidecar("11.1.0", "\"8.7\"", "fp16");
    rtx.replace(rtx.find("\"tensorrt\""), 10, "\"tensorrt-rtx\"");
    CHECK(sidecarProblems(rtx, expect()).size() == 1);
    // A multi-target TensorRT-RTX sidecar lists several capabilities: never a match here.
    CHECK(sidecarProblems(sidecar("11.1.0", "[\"8.6\", \"8.9\"]", "fp16"), expect()).size() == 1);
    CHECK(sidecarProblems("not json", expect()).size() == 1);
    CHECK(sidecarProblems("[1, 2]", expect()).size() == 1);
}

TEST(sidecarFileLookup)
{
    std::string const engine = "rmnet_test_sidecar.engine";
    std::remove((engine + ".json").c_str());
    CHECK_THROWS_CODE(checkSidecar(engine, expect()), rmnet::Status::kENGINE_MISMATCH);
    {
        std::ofstream(engine + ".json") << sidecar("11.1.0", "\"8.7\"", "fp16");
    }
    checkSidecar(engine, expect()); // does not throw
    SidecarExpectation wrongGpu = expect();
    wrongGpu.computeCapability = 90;
    CHECK_THROWS_CODE(checkSidecar(engine, wrongGpu), rmnet::Status::kENGINE_MISMATCH);
    std::remove((engine + ".json").c_str());
}

TEST_MAIN()
