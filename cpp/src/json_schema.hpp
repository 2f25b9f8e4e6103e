//! \file json_schema.hpp
//! \brief A JSON Schema (draft 2020-12) validator for the keyword subset the engine sidecar schema uses.
//!
//! The sidecar schema (rmnet_sdk/contract/engine_sidecar.schema.json) is the one statement of what a
//! sidecar looks like; Python validates against it with the jsonschema library, the C++ runtime with
//! this, so that both refuse the same sidecars as malformed. Only these keywords are implemented:
//! type, enum, const, pattern, minimum, maximum, minItems, maxItems, minLength, maxLength, required, properties,
//! items (one schema for every item), anyOf and $ref to "#/$defs/...", plus the annotations $schema,
//! $id, title and description. Anything else in a schema is refused when the validator is built, so a
//! schema edit that C++ does not understand fails loudly instead of passing unchecked.
#pragma once

#include "json.hpp"

#include <map>
#include <regex>
#include <string>
#include <vector>

namespace rmnet {
namespace detail {

//! One way an instance breaks the schema: where (a JSON pointer, "" for the whole document) and how.
struct SchemaViolation
{
    std::string path;
    std::string message;
};

//! A compiled schema. Validation follows JSON Schema: each keyword applies only to the instance types
//! it is defined for (minimum to numbers, minLength to strings, ...); "integer" is a number without a
//! fractional part; a boolean is not a number; properties not named in "properties" are allowed.
class JsonSchema
{
public:
    //! Checks every subschema of \p schema. Throws Error(kINTERNAL) naming the location of a keyword
    //! outside the subset, a keyword value of the wrong form, a $ref that does not resolve, or a
    //! pattern std::regex cannot compile: a schema this runtime cannot enforce is a build defect.
    explicit JsonSchema(JsonValue schema);

    //! Every violation of \p instance, in document order (empty: it conforms).
    std::vector<SchemaViolation> validate(JsonValue const& instance) const;

private:
    void compile(JsonValue const& schema, std::string const& where);
    void check(JsonValue const& schema, JsonValue const& instance, std::string const& path,
        std::vector<SchemaViolation>& out, int depth) const;
    JsonValue const& resolve(std::string const& ref) const;

    JsonValue mRoot;
    std::map<std::string, std::regex> mPatterns; //!< compiled once, keyed by pattern text
};

} // namespace detail
} // namespace rmnet
