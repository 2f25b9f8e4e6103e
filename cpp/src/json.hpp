//! \file json.hpp
//! \brief A minimal JSON reader, enough for an engine's sidecar file (no dependency to vendor).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rmnet {
namespace detail {

//! One JSON value. Objects keep their keys in file order.
struct JsonValue
{
    enum class Type
    {
        kNULL,
        kBOOL,
        kNUMBER,
        kSTRING,
        kARRAY,
        kOBJECT,
    };
    Type type = Type::kNULL;
    bool boolean = false;
    double number = 0.0;
    std::string string;
    std::vector<JsonValue> array;
    std::vector<std::pair<std::string, JsonValue>> object;

    //! Member \p key of an object, or nullptr (also for non-objects).
    JsonValue const* find(std::string const& key) const;
};

//! Parses \p text (UTF-8). Throws std::runtime_error("json: ... at offset N") when malformed.
JsonValue parseJson(std::string const& text);

} // namespace detail
} // namespace rmnet
