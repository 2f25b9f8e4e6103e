//! \file contract.hpp
//! \brief The model IO contract, as the C++ runtime states it (one place on this side).
//!
//! The twin of rmnet_sdk/contract/io.py: every R-MNet artifact takes `image` [N,3,H,W] (RGB in
//! [-1, 1], holes zeroed) and `mask` [N,1,H,W] (1 = hole) and returns `prediction` [N,3,H,W],
//! with H and W multiples of 16. tests/test_contract_cpp.py reads this header and holds it to the
//! Python contract, so the two cannot drift apart.
#pragma once

#include <cstdint>

namespace rmnet {
namespace detail {
namespace contract {

constexpr char const* kIMAGE_TENSOR = "image";
constexpr char const* kMASK_TENSOR = "mask";
constexpr char const* kPREDICTION_TENSOR = "prediction";
constexpr int32_t kIMAGE_CHANNELS = 3;
constexpr int32_t kMASK_CHANNELS = 1;
constexpr int32_t kPREDICTION_CHANNELS = 3;
//! H and W of every model tensor are multiples of this (the generator halves four times).
constexpr int32_t kSIZE_MULTIPLE = 16;

//! The smallest multiple of kSIZE_MULTIPLE that is >= v (v >= 0), computed without overflow.
constexpr int32_t roundUpToMultiple(int32_t v)
{
    return static_cast<int32_t>((static_cast<int64_t>(v) + kSIZE_MULTIPLE - 1) / kSIZE_MULTIPLE * kSIZE_MULTIPLE);
}

} // namespace contract
} // namespace detail
} // namespace rmnet
