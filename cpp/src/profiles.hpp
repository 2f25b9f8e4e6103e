//! \file profiles.hpp
//! \brief Optimisation profiles and how a batch is cut into chunks that each fit one of them.
//!
//! TensorRT runs a shape only inside one profile's [min, max]. A batch larger than a profile, or
//! smaller than its minimum N, must go in chunks, each with a profile that accepts it. The rule is
//! the Python one (rmnet_sdk.contract.profiles.plan_batches): per chunk, the profile that takes
//! the most items, then the one whose opt is closest, then the lowest index. Free of CUDA and TensorRT,
//! so it is tested on any machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rmnet {
namespace detail {

//! One profile as (N, H, W) min / opt / max.
struct ProfileRange
{
    int32_t min[3] = {1, 0, 0};
    int32_t opt[3] = {1, 0, 0};
    int32_t max[3] = {1, 0, 0};

    bool acceptsSpatial(int32_t h, int32_t w) const
    {
        return min[1] <= h && h <= max[1] && min[2] <= w && w <= max[2];
    }
    bool accepts(int32_t n, int32_t h, int32_t w) const
    {
        return min[0] <= n && n <= max[0] && acceptsSpatial(h, w);
    }
};

//! Items [begin, begin + count) of a batch run with profile \c profile.
struct Chunk
{
    int32_t begin;
    int32_t count;
    int32_t profile;
};

//! Chunks covering n items at h x w. Throws Error(kINVALID_ARGUMENT) naming the profiles when no
//! profile takes the size, or when what is left of the batch is below every fitting profile's min N.
std::vector<Chunk> planChunks(std::vector<ProfileRange> const& profiles, int32_t n, int32_t h, int32_t w);

//! "profile 0 [1,256,256]..[4,512,512]; ..." for error messages.
std::string describeProfiles(std::vector<ProfileRange> const& profiles);

} // namespace detail
} // namespace rmnet
