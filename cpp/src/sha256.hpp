//! \file sha256.hpp
//! \brief SHA-256 (FIPS 180-4) of a byte buffer: the engine hash in a sidecar is checked against the
//! very bytes that are then deserialised, with no crypto library to depend on.
#pragma once

#include <cstddef>
#include <string>

namespace rmnet {
namespace detail {

//! Lower-case hex digest of \p size bytes at \p data.
std::string sha256Hex(void const* data, size_t size);

} // namespace detail
} // namespace rmnet
