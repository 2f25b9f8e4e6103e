//! JSON reader, JSON Schema validator, SHA-256 and engine-sidecar checks (no TensorRT or GPU needed).
//! The sidecar rule and the profile plans are held to the vectors in tests/data/sidecar_vectors/,
//! which the Python tests read too.
#include "check.hpp"

#include "json.hpp"
#include "json_schema.hpp"
#include "profiles.hpp"
#include "sha256.hpp"
#include "sidecar.hpp"
#include "sidecar_schema.hpp"

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

//! The paths of \p instance's violations of \p schema (both JSON text), in the order found.
std::vector<std::string> violations(std::string const& schema, std::string const& instance)
{
    std::vector<std::string> paths;
    for (SchemaViolation const& v : JsonSchema(parseJson(schema)).validate(parseJson(instance)))
    {
        paths.push_back(v.path);
    }
    return paths;
}

bool conforms(std::string const& schema, std::string const& instance)
{
    return violations(schema, instance).empty();
}

//! "begin,count,profile;..." of a plan, from planChunks or from a vector's "chunks".
std::string chunkText(std::vector<Chunk> const& chunks)
{
    std::string s;
    for (Chunk const& c : chunks)
    {
        s += std::to_string(c.begin) + "," + std::to_string(c.count) + "," + std::to_string(c.profile) + ";";
    }
    return s;
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

TEST(jsonSchemaTypes)
{
    // "integer" is a number without a fractional part; a boolean is not a number.
    CHECK(conforms(R"({"type": "integer"})", "3"));
    CHECK(conforms(R"({"type": "integer"})", "3.0"));
    CHECK(!conforms(R"({"type": "integer"})", "3.5"));
    CHECK(!conforms(R"({"type": "number"})", "true"));
    CHECK(!conforms(R"({"type": "integer"})", "false"));
    CHECK(conforms(R"({"type": "number"})", "3"));
    CHECK(conforms(R"({"type": ["string", "null"]})", "null"));
    CHECK(!conforms(R"({"type": ["string", "null"]})", "[]"));
    CHECK(conforms(R"({"type": "object"})", "{}"));
    CHECK(!conforms(R"({"type": "array"})", "{}"));
    CHECK(conforms(R"({"type": "boolean"})", "false"));
}

TEST(jsonSchemaKeywordsApplyToTheirOwnTypes)
{
    // Numeric keywords ignore non-numbers, string keywords non-strings, array keywords non-arrays.
    CHECK(conforms(R"({"minimum": 1, "maximum": 2})", "\"0\""));
    CHECK(conforms(R"({"minimum": 1})", "true"));
    CHECK(conforms(R"({"minLength": 3, "pattern": "^a"})", "7"));
    CHECK(conforms(R"({"minItems": 1, "maxItems": 1, "items": {"type": "string"}})", "\"xyz\""));
    CHECK(conforms(R"({"required": ["a"], "properties": {"a": {"type": "string"}}})", "[1]"));
    CHECK(conforms(R"({"minimum": 1, "maximum": 2})", "1"));
    CHECK(conforms(R"({"minimum": 1, "maximum": 2})", "2"));
    CHECK(!conforms(R"({"minimum": 1})", "0.5"));
    CHECK(!conforms(R"({"maximum": 2})", "2.5"));
    CHECK(conforms(R"({"minItems": 2, "maxItems": 3})", "[1, 2, 3]"));
    CHECK(!conforms(R"({"minItems": 2})", "[1]"));
    CHECK(!conforms(R"({"maxItems": 3})", "[1, 2, 3, 4]"));
    // minLength counts code points: "\u00e9\u00e9" is two characters in four UTF-8 bytes.
    CHECK(conforms(R"({"minLength": 2})", R"("\u00e9\u00e9")"));
    CHECK(conforms(R"({"maxLength": 2})", R"("\u00e9\u00e9")"));
    CHECK(!conforms(R"({"maxLength": 1})", R"("\u00e9\u00e9")"));
    CHECK(conforms(R"({"maxLength": 1})", "12345"));
    CHECK(!conforms(R"({"minLength": 3})", R"("\u00e9\u00e9")"));
    CHECK(!conforms(R"({"minLength": 1})", R"("")"));
}

TEST(jsonSchemaPatternsSearchLikeEcmaScript)
{
    // A pattern matches anywhere unless anchored, and "$" is the end of the string.
    CHECK(conforms(R"({"pattern": "[0-9]"})", "\"ab1\""));
    CHECK(conforms(R"({"pattern": "^[0-9]+\\.[0-9]+"})", "\"10.3.0.30\""));
    CHECK(!conforms(R"({"pattern": "^[0-9]+\\.[0-9]+"})", "\"v10.3\""));
    CHECK(conforms(R"({"pattern": "^[0-9a-f]{4}$"})", "\"00ff\""));
    CHECK(!conforms(R"({"pattern": "^[0-9a-f]{4}$"})", "\"00ff0\""));
    CHECK(!conforms(R"({"pattern": "^[0-9a-f]{4}$"})", "\"00fg\""));
}

TEST(jsonSchemaCombinators)
{
    char const* const schema = R"({
        "$defs": {"pos": {"type": "integer", "minimum": 1}},
        "type": "object", "required": ["a", "b"],
        "properties": {
            "a": {"type": "array", "items": {"$ref": "#/$defs/pos"}},
            "b": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/pos"}]},
            "c": {"enum": ["x", 2, null, [1, {"k": true}]]},
            "d": {"const": {"k": [1, 2]}}
        }})";
    CHECK(conforms(schema, R"({"a": [1, 2], "b": "s", "extra": {"anything": 1}})"));
    CHECK(conforms(schema, R"({"a": [], "b": 4, "c": null, "d": {"k": [1.0, 2]}})"));
    CHECK(conforms(schema, R"({"a": [], "b": 4, "c": [1, {"k": true}]})"));
    CHECK(violations(schema, R"({"a": [1, 0, "x"], "b": 0})")
        == (std::vector<std::string>{"/a/1", "/a/2", "/b"}));
    CHECK(violations(schema, R"({"b": "s", "c": "y", "d": {"k": [2, 1]}})")
        == (std::vector<std::string>{"", "/c", "/d"}));
    CHECK(violations(schema, R"({"a": [], "b": "s", "c": true})") == std::vector<std::string>{"/c"});
    CHECK(violations(schema, R"({"a": [], "b": "s", "d": {"k": [1, 2], "l": 0}})") == std::vector<std::string>{"/d"});
    // JSON-pointer escapes in the path.
    CHECK(violations(R"({"properties": {"a/b~c": {"type": "null"}}})", R"({"a/b~c": 1})")
        == std::vector<std::string>{"/a~1b~0c"});
    // One message per missing key.
    CHECK(violations(schema, "{}").size() == 2);
}

TEST(jsonSchemaRefusesWhatItDoesNotImplement)
{
    // A schema keyword outside the subset must fail when the validator is built, wherever it is.
    for (char const* schema : {R"({"type": "object", "additionalProperties": false})",
             R"({"properties": {"a": {"exclusiveMinimum": 0}}})", R"({"$defs": {"x": {"format": "uri"}}})",
             R"({"anyOf": [{"oneOf": [{}]}]})", R"({"items": {"prefixItems": []}})", R"({"$ref": "other.json#/x"})",
             R"({"$ref": "#/$defs/missing"})", R"({"type": "float"})", R"({"pattern": "("})", R"({"minItems": -1})",
             R"({"items": true})", R"({"required": "a"})"})
    {
        CHECK_THROWS_CODE(JsonSchema(parseJson(schema)), rmnet::Status::kINTERNAL);
    }
    JsonSchema(parseJson(R"({"$schema": "x", "$id": "y", "title": "t", "description": "d", "$defs": {}})"));
}

TEST(sidecarSchemaIsTheCheckedInFile)
{
    // The generated header embeds rmnet_sdk/contract/engine_sidecar.schema.json byte for byte, and the
    // C++ validator implements every keyword it uses (construction would throw otherwise).
    CHECK(readText(RMNET_SIDECAR_SCHEMA_FILE) == kSIDECAR_SCHEMA);
    JsonValue const schema = parseJson(kSIDECAR_SCHEMA);
    JsonSchema const validator(schema);
    CHECK(validator.validate(parseJson(sidecar("11.1.0", "\"8.7\"", "fp16"))).empty());
    CHECK(validator.validate(parseJson("{}")).size() == schema.find("required")->array.size());
}

TEST(sidecarProfilesAreRead)
{
    JsonValue const doc = parseJson(R"({"profiles": [{"min": [1, 64, 64], "opt": [2, 128, 256], "max": [4, 512, 1024]},
        {"min": [2, 64, 64], "opt": [2, 64, 64], "max": [8, 64, 64]}]})");
    std::vector<ProfileRange> const ps = sidecarProfiles(doc);
    CHECK(ps.size() == 2);
    CHECK(ps[0].min[0] == 1 && ps[0].opt[1] == 128 && ps[0].opt[2] == 256 && ps[0].max[2] == 1024);
    CHECK(ps[1].min[0] == 2 && ps[1].max[0] == 8);
    CHECK(chunkText(planChunks(ps, 9, 64, 64)) == "0,8,1;8,1,0;");
    for (char const* bad : {R"({})", R"({"profiles": []})", R"({"profiles": {"min": [1, 1, 1]}})",
             R"({"profiles": [{"min": [1, 1], "opt": [1, 1, 1], "max": [1, 1, 1]}]})",
             R"({"profiles": [{"min": [2, 1, 1], "opt": [1, 1, 1], "max": [2, 1, 1]}]})",
             R"({"profiles": [{"min": [1, 1, 1], "opt": [1, 1, 2], "max": [1, 1, 1]}]})",
             R"({"profiles": [{"min": [0, 1, 1], "opt": [1, 1, 1], "max": [1, 1, 1]}]})",
             R"({"profiles": [{"min": [1, 1, 1], "opt": [1.5, 1, 1], "max": [2, 1, 1]}]})",
             R"({"profiles": [{"min": [1, 1, 1], "opt": [1, 1, 1], "max": [1, 1, 3e9]}]})",
             R"({"profiles": [{"min": [1, 1, 1], "max": [1, 1, 1]}]})"})
    {
        CHECK_THROWS_CODE(sidecarProfiles(parseJson(bad)), rmnet::Status::kINVALID_ARGUMENT);
    }
}

TEST(sidecarSchemaViolationsAreMalformed)
{
    // A schema violation is "malformed"; the bytes are still checked, nothing else is.
    std::string json = sidecar("11.1.0", "\"8.7\"", "fp16");
    json.replace(json.find("\"flavour\": \"tensorrt\""), 21, "\"flavour\": \"tensorrt\", \"format\": 2");
    auto const p = problems(json);
    CHECK(p.size() == 1 && p[0].reason == "malformed" && p[0].message.find("/format") != std::string::npos);
    std::string const other = "ENGINE BYTES";
    std::set<std::string> reasons;
    SidecarExpectation wrongGpu = expect();
    wrongGpu.computeCapability = 90; // a semantic mismatch is not reported next to a schema violation
    for (SidecarProblem const& q : sidecarProblems(json, other.data(), other.size(), wrongGpu))
    {
        reasons.insert(q.reason);
    }
    CHECK(reasons == (std::set<std::string>{"integrity", "malformed"}));
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

namespace {

//! A vector's plans against planChunks on its sidecar's profiles: the same chunks as Python's
//! plan_batches, or Error(kINVALID_ARGUMENT) where the vector says "invalid_argument". Returns 1.
int checkPlans(std::string const& name, JsonValue const& sidecarObject, JsonValue const& plans)
{
    std::vector<ProfileRange> const profiles = sidecarProfiles(sidecarObject);
    for (JsonValue const& plan : plans.array)
    {
        auto const n = static_cast<int32_t>(plan.find("n")->number);
        auto const h = static_cast<int32_t>(plan.find("h")->number);
        auto const w = static_cast<int32_t>(plan.find("w")->number);
        std::string got;
        try
        {
            got = chunkText(planChunks(profiles, n, h, w));
        }
        catch (rmnet::Error const& e)
        {
            got = e.code() == rmnet::Status::kINVALID_ARGUMENT ? "error invalid_argument" : "error other";
        }
        std::string want;
        if (JsonValue const* error = plan.find("error"))
        {
            want = "error " + error->string;
        }
        else
        {
            for (JsonValue const& c : plan.find("chunks")->array)
            {
                want += toJson(c.array[0]) + "," + toJson(c.array[1]) + "," + toJson(c.array[2]) + ";";
            }
        }
        if (want != got)
        {
            std::printf("  vector %s: plan n=%d %dx%d: want %s, got %s\n", name.c_str(), n, h, w, want.c_str(),
                got.c_str());
        }
        CHECK(want == got);
    }
    return 1;
}

} // namespace

//! Every shared vector: the same set of reason classes as the Python check (tests/test_sidecar_vectors.py).
TEST(sidecarSharedVectors)
{
    namespace fs = std::filesystem;
    int count = 0, planned = 0;
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
        if (JsonValue const* plans = v.find("plans"))
        {
            planned += checkPlans(entry.path().filename().string(), *v.find("sidecar"), *plans);
        }
    }
    CHECK(count >= 40);
    CHECK(planned >= 5);
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
