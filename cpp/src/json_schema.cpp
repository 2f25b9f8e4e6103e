//! \file json_schema.cpp
#include "json_schema.hpp"

#include "rmnet/inpainter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace rmnet {
namespace detail {
namespace {

//! The assertions implemented by JsonSchema::check. tests/test_sidecar_vectors.py reads this list and
//! holds the checked-in sidecar schema to it; extend both together with an implementation.
char const* const kVALIDATION_KEYWORDS[] = {"type", "enum", "const", "pattern", "minimum", "maximum", "minItems",
    "maxItems", "minLength", "maxLength", "required", "properties", "items", "anyOf", "$ref"};
//! Keywords that assert nothing about an instance: annotations, and $defs (the targets of "$ref").
char const* const kANNOTATION_KEYWORDS[] = {"$schema", "$id", "title", "description", "$defs"};
char const* const kTYPE_NAMES[] = {"null", "boolean", "number", "integer", "string", "array", "object"};
char const kDEFS_PREFIX[] = "#/$defs/";

//! Subschemas nest a few levels in the sidecar schema; a $ref cycle would recurse without bound.
constexpr int kMAX_DEPTH = 256;

template <size_t N>
bool listed(char const* const (&names)[N], std::string const& key)
{
    return std::find_if(std::begin(names), std::end(names), [&](char const* n) { return key == n; }) != std::end(names);
}

[[noreturn]] void schemaDefect(std::string const& where, std::string const& what)
{
    throw Error(Status::kINTERNAL, "JSON schema at " + where + ": " + what);
}

bool isInteger(JsonValue const& v)
{
    return v.type == JsonValue::Type::kNUMBER && std::isfinite(v.number) && std::floor(v.number) == v.number;
}

bool hasType(JsonValue const& v, std::string const& name)
{
    switch (v.type)
    {
    case JsonValue::Type::kNULL: return name == "null";
    case JsonValue::Type::kBOOL: return name == "boolean";
    case JsonValue::Type::kNUMBER: return name == "number" || (name == "integer" && isInteger(v));
    case JsonValue::Type::kSTRING: return name == "string";
    case JsonValue::Type::kARRAY: return name == "array";
    case JsonValue::Type::kOBJECT: return name == "object";
    }
    return false;
}

char const* typeName(JsonValue const& v)
{
    switch (v.type)
    {
    case JsonValue::Type::kNULL: return "null";
    case JsonValue::Type::kBOOL: return "boolean";
    case JsonValue::Type::kNUMBER: return isInteger(v) ? "integer" : "number";
    case JsonValue::Type::kSTRING: return "string";
    case JsonValue::Type::kARRAY: return "array";
    case JsonValue::Type::kOBJECT: return "object";
    }
    return "?";
}

//! JSON equality as enum and const use it: numbers by value, objects regardless of key order.
bool equal(JsonValue const& a, JsonValue const& b)
{
    if (a.type != b.type)
    {
        return false;
    }
    switch (a.type)
    {
    case JsonValue::Type::kNULL: return true;
    case JsonValue::Type::kBOOL: return a.boolean == b.boolean;
    case JsonValue::Type::kNUMBER: return a.number == b.number;
    case JsonValue::Type::kSTRING: return a.string == b.string;
    case JsonValue::Type::kARRAY:
        return a.array.size() == b.array.size() && std::equal(a.array.begin(), a.array.end(), b.array.begin(), equal);
    case JsonValue::Type::kOBJECT:
        if (a.object.size() != b.object.size())
        {
            return false;
        }
        for (auto const& kv : a.object)
        {
            JsonValue const* other = b.find(kv.first);
            if (other == nullptr || !equal(kv.second, *other))
            {
                return false;
            }
        }
        return true;
    }
    return false;
}

//! minLength counts Unicode code points, not bytes: every UTF-8 byte but a continuation byte.
size_t codePoints(std::string const& s)
{
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::string numberText(double d)
{
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", d);
    return buf;
}

//! A short rendering of \p v for messages (long strings and containers are cut).
std::string shortText(JsonValue const& v)
{
    std::string s;
    switch (v.type)
    {
    case JsonValue::Type::kNULL: s = "null"; break;
    case JsonValue::Type::kBOOL: s = v.boolean ? "true" : "false"; break;
    case JsonValue::Type::kNUMBER: s = numberText(v.number); break;
    case JsonValue::Type::kSTRING: s = "\"" + v.string + "\""; break;
    case JsonValue::Type::kARRAY: s = "an array of " + std::to_string(v.array.size()); break;
    case JsonValue::Type::kOBJECT: s = "an object"; break;
    }
    return s.size() > 72 ? s.substr(0, 69) + "..." : s;
}

//! One JSON-pointer reference token ("~" -> "~0", "/" -> "~1").
std::string pointerToken(std::string const& key)
{
    std::string out;
    for (char c : key)
    {
        out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
    }
    return out;
}

void requireNumber(JsonValue const& v, std::string const& where, char const* key, bool count)
{
    if (v.type != JsonValue::Type::kNUMBER || (count && (!isInteger(v) || v.number < 0)))
    {
        schemaDefect(where, std::string(key) + (count ? " must be a non-negative integer" : " must be a number"));
    }
}

} // namespace

JsonSchema::JsonSchema(JsonValue schema)
    : mRoot(std::move(schema))
{
    compile(mRoot, "#");
}

void JsonSchema::compile(JsonValue const& schema, std::string const& where)
{
    if (schema.type != JsonValue::Type::kOBJECT)
    {
        schemaDefect(where, "a subschema must be an object");
    }
    for (auto const& [key, value] : schema.object)
    {
        std::string const at = where + "/" + pointerToken(key);
        if (!listed(kVALIDATION_KEYWORDS, key) && !listed(kANNOTATION_KEYWORDS, key))
        {
            schemaDefect(where,
                "keyword \"" + key + "\" is not implemented by the C++ validator (cpp/src/json_schema.cpp), so "
                "sidecars could pass it unchecked");
        }
        if (key == "type")
        {
            std::vector<JsonValue> const names
                = value.type == JsonValue::Type::kARRAY ? value.array : std::vector<JsonValue>{value};
            if (names.empty())
            {
                schemaDefect(at, "an empty list of types");
            }
            for (JsonValue const& n : names)
            {
                if (n.type != JsonValue::Type::kSTRING || !listed(kTYPE_NAMES, n.string))
                {
                    schemaDefect(at, "unknown type " + shortText(n));
                }
            }
        }
        else if (key == "enum" && value.type != JsonValue::Type::kARRAY)
        {
            schemaDefect(at, "enum must be an array");
        }
        else if (key == "pattern")
        {
            if (value.type != JsonValue::Type::kSTRING)
            {
                schemaDefect(at, "pattern must be a string");
            }
            try
            {
                mPatterns.emplace(value.string, std::regex(value.string, std::regex::ECMAScript));
            }
            catch (std::regex_error const& e)
            {
                schemaDefect(at, "pattern " + shortText(value) + " does not compile (" + e.what() + ")");
            }
        }
        else if (key == "minimum" || key == "maximum")
        {
            requireNumber(value, at, key.c_str(), false);
        }
        else if (key == "minItems" || key == "maxItems" || key == "minLength" || key == "maxLength")
        {
            requireNumber(value, at, key.c_str(), true);
        }
        else if (key == "required")
        {
            bool const strings = value.type == JsonValue::Type::kARRAY
                && std::all_of(value.array.begin(), value.array.end(),
                    [](JsonValue const& v) { return v.type == JsonValue::Type::kSTRING; });
            if (!strings)
            {
                schemaDefect(at, "required must be an array of strings");
            }
        }
        else if (key == "properties" || key == "$defs")
        {
            if (value.type != JsonValue::Type::kOBJECT)
            {
                schemaDefect(at, key + " must be an object");
            }
            for (auto const& [name, sub] : value.object)
            {
                compile(sub, at + "/" + pointerToken(name));
            }
        }
        else if (key == "items")
        {
            compile(value, at);
        }
        else if (key == "anyOf")
        {
            if (value.type != JsonValue::Type::kARRAY || value.array.empty())
            {
                schemaDefect(at, "anyOf must be a non-empty array");
            }
            for (size_t i = 0; i < value.array.size(); ++i)
            {
                compile(value.array[i], at + "/" + std::to_string(i));
            }
        }
        else if (key == "$ref")
        {
            if (value.type != JsonValue::Type::kSTRING)
            {
                schemaDefect(at, "$ref must be a string");
            }
            resolve(value.string); // throws when it does not resolve
        }
    }
}

JsonValue const& JsonSchema::resolve(std::string const& ref) const
{
    std::string const prefix = kDEFS_PREFIX;
    if (ref.compare(0, prefix.size(), prefix) != 0)
    {
        schemaDefect("$ref " + ref, "only references to \"#/$defs/<name>\" are implemented");
    }
    JsonValue const* defs = mRoot.find("$defs");
    JsonValue const* target = defs != nullptr ? defs->find(ref.substr(prefix.size())) : nullptr;
    if (target == nullptr)
    {
        schemaDefect("$ref " + ref, "no such definition");
    }
    return *target;
}

std::vector<SchemaViolation> JsonSchema::validate(JsonValue const& instance) const
{
    std::vector<SchemaViolation> out;
    check(mRoot, instance, "", out, 0);
    return out;
}

void JsonSchema::check(JsonValue const& schema, JsonValue const& instance, std::string const& path,
    std::vector<SchemaViolation>& out, int depth) const
{
    if (depth > kMAX_DEPTH)
    {
        schemaDefect(path.empty() ? "(root)" : path, "subschemas nest too deep (a $ref cycle?)");
    }
    using Type = JsonValue::Type;
    auto fail = [&](std::string message) { out.push_back({path, std::move(message)}); };
    for (auto const& [key, value] : schema.object)
    {
        if (key == "$ref")
        {
            check(resolve(value.string), instance, path, out, depth + 1);
        }
        else if (key == "type")
        {
            std::vector<JsonValue> const names = value.type == Type::kARRAY ? value.array : std::vector<JsonValue>{value};
            bool ok = false;
            std::string wanted;
            for (JsonValue const& n : names)
            {
                ok = ok || hasType(instance, n.string);
                wanted += (wanted.empty() ? "" : " or ") + n.string;
            }
            if (!ok)
            {
                fail(shortText(instance) + " (" + typeName(instance) + ") is not of type " + wanted);
            }
        }
        else if (key == "enum")
        {
            bool const ok = std::any_of(
                value.array.begin(), value.array.end(), [&](JsonValue const& v) { return equal(v, instance); });
            if (!ok)
            {
                fail(shortText(instance) + " is not one of the allowed values");
            }
        }
        else if (key == "const")
        {
            if (!equal(value, instance))
            {
                fail(shortText(instance) + " is not " + shortText(value));
            }
        }
        else if (key == "pattern")
        {
            if (instance.type == Type::kSTRING && !std::regex_search(instance.string, mPatterns.at(value.string)))
            {
                fail(shortText(instance) + " does not match " + value.string);
            }
        }
        else if (key == "minimum")
        {
            if (instance.type == Type::kNUMBER && instance.number < value.number)
            {
                fail(shortText(instance) + " is less than the minimum of " + numberText(value.number));
            }
        }
        else if (key == "maximum")
        {
            if (instance.type == Type::kNUMBER && instance.number > value.number)
            {
                fail(shortText(instance) + " is greater than the maximum of " + numberText(value.number));
            }
        }
        else if (key == "minItems")
        {
            if (instance.type == Type::kARRAY && static_cast<double>(instance.array.size()) < value.number)
            {
                fail(shortText(instance) + " has fewer than " + numberText(value.number) + " items");
            }
        }
        else if (key == "maxItems")
        {
            if (instance.type == Type::kARRAY && static_cast<double>(instance.array.size()) > value.number)
            {
                fail(shortText(instance) + " has more than " + numberText(value.number) + " items");
            }
        }
        else if (key == "minLength")
        {
            if (instance.type == Type::kSTRING && static_cast<double>(codePoints(instance.string)) < value.number)
            {
                fail(shortText(instance) + " is shorter than " + numberText(value.number) + " characters");
            }
        }
        else if (key == "maxLength")
        {
            if (instance.type == Type::kSTRING && static_cast<double>(codePoints(instance.string)) > value.number)
            {
                fail(shortText(instance) + " is longer than " + numberText(value.number) + " characters");
            }
        }
        else if (key == "required")
        {
            if (instance.type == Type::kOBJECT)
            {
                for (JsonValue const& name : value.array)
                {
                    if (instance.find(name.string) == nullptr)
                    {
                        fail("\"" + name.string + "\" is a required property");
                    }
                }
            }
        }
        else if (key == "properties")
        {
            if (instance.type == Type::kOBJECT)
            {
                for (auto const& [name, member] : instance.object)
                {
                    if (JsonValue const* sub = value.find(name))
                    {
                        check(*sub, member, path + "/" + pointerToken(name), out, depth + 1);
                    }
                }
            }
        }
        else if (key == "items")
        {
            if (instance.type == Type::kARRAY)
            {
                for (size_t i = 0; i < instance.array.size(); ++i)
                {
                    check(value, instance.array[i], path + "/" + std::to_string(i), out, depth + 1);
                }
            }
        }
        else if (key == "anyOf")
        {
            bool ok = false;
            for (size_t i = 0; !ok && i < value.array.size(); ++i)
            {
                std::vector<SchemaViolation> branch;
                check(value.array[i], instance, path, branch, depth + 1);
                ok = branch.empty();
            }
            if (!ok)
            {
                fail(shortText(instance) + " matches none of the " + std::to_string(value.array.size())
                    + " forms the schema allows");
            }
        }
    }
}

} // namespace detail
} // namespace rmnet
