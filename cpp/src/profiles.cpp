//! \file profiles.cpp
#include "profiles.hpp"

#include "rmnet/inpainter.hpp"

#include <algorithm>
#include <cstdlib>

namespace rmnet {
namespace detail {
namespace {

std::string shape(int32_t const s[3])
{
    return "[" + std::to_string(s[0]) + "," + std::to_string(s[1]) + "," + std::to_string(s[2]) + "]";
}

} // namespace

std::string describeProfiles(std::vector<ProfileRange> const& profiles)
{
    std::string s;
    for (size_t i = 0; i < profiles.size(); ++i)
    {
        s += (i ? "; " : "") + std::string("profile ") + std::to_string(i) + " NxHxW " + shape(profiles[i].min) + ".."
            + shape(profiles[i].max);
    }
    return s;
}

std::vector<Chunk> planChunks(std::vector<ProfileRange> const& profiles, int32_t n, int32_t h, int32_t w)
{
    bool spatial = false;
    for (ProfileRange const& p : profiles)
    {
        spatial = spatial || p.acceptsSpatial(h, w);
    }
    if (!spatial)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "input " + std::to_string(h) + "x" + std::to_string(w) + " fits none of the engine's optimisation profiles ("
                + describeProfiles(profiles) + "); rebuild the engine or change the strategy/model size");
    }
    std::vector<Chunk> chunks;
    int32_t begin = 0;
    while (begin < n)
    {
        int32_t const left = n - begin;
        int32_t best = -1, bestTake = 0;
        long bestDistance = 0;
        for (size_t i = 0; i < profiles.size(); ++i)
        {
            ProfileRange const& p = profiles[i];
            if (!p.acceptsSpatial(h, w) || p.min[0] > left)
            {
                continue;
            }
            int32_t const take = std::min(left, p.max[0]);
            long const distance = std::labs(static_cast<long>(p.opt[0]) - take) + std::labs(static_cast<long>(p.opt[1]) - h)
                + std::labs(static_cast<long>(p.opt[2]) - w);
            if (best < 0 || take > bestTake || (take == bestTake && distance < bestDistance))
            {
                best = static_cast<int32_t>(i);
                bestTake = take;
                bestDistance = distance;
            }
        }
        if (best < 0)
        {
            throw Error(Status::kINVALID_ARGUMENT,
                "a batch of " + std::to_string(left) + " at " + std::to_string(h) + "x" + std::to_string(w)
                    + " is below the minimum batch of every profile that takes this size (" + describeProfiles(profiles)
                    + "); rebuild the engine with min N = 1");
        }
        chunks.push_back(Chunk{begin, bestTake, best});
        begin += bestTake;
    }
    return chunks;
}

} // namespace detail
} // namespace rmnet
