//! The GPU pipeline's host-side logic on the CPU: how batches are cut per profile, which captured
//! graphs are replayed, the stand-in engine's description, and the stand-in network's CPU twin.
#include "check.hpp"

#include "cpu_twins.h"
#include "graph_cache.hpp"
#include "profiles.hpp"
#include "standin_engine.hpp"

#include "rmnet/inpainter.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

using namespace rmnet::detail;

namespace {

ProfileRange profile(std::vector<int32_t> lo, std::vector<int32_t> opt, std::vector<int32_t> hi)
{
    ProfileRange p;
    for (int i = 0; i < 3; ++i)
    {
        p.min[i] = lo[i];
        p.opt[i] = opt[i];
        p.max[i] = hi[i];
    }
    return p;
}

std::string plan(std::vector<ProfileRange> const& profiles, int32_t n, int32_t h, int32_t w)
{
    std::string s;
    for (Chunk const& c : planChunks(profiles, n, h, w))
    {
        s += (s.empty() ? "" : " ") + std::to_string(c.count) + "@" + std::to_string(c.profile);
    }
    return s;
}

struct FakeGraph
{
    int id = 0;
};

} // namespace

TEST(batchesAreCutPerProfile)
{
    // small: N 1-2 at 256-512; big: N 4-8 at 256-1024.
    std::vector<ProfileRange> const ps{profile({1, 256, 256}, {1, 256, 256}, {2, 512, 512}),
        profile({4, 256, 256}, {8, 512, 512}, {8, 1024, 1024})};
    CHECK(plan(ps, 1, 256, 256) == "1@0");
    CHECK(plan(ps, 3, 256, 256) == "2@0 1@0"); // big's min N is 4: it cannot take 3
    CHECK(plan(ps, 10, 256, 256) == "8@1 2@0");
    CHECK(plan(ps, 16, 512, 512) == "8@1 8@1");
    CHECK(plan(ps, 8, 1024, 1024) == "8@1");
    CHECK_THROWS_CODE(plan(ps, 3, 1024, 1024), rmnet::Status::kINVALID_ARGUMENT); // only big, min N 4
    CHECK_THROWS_CODE(plan(ps, 1, 2048, 2048), rmnet::Status::kINVALID_ARGUMENT);
    // Equal chunks: the profile whose opt is closest wins.
    std::vector<ProfileRange> const twins{profile({1, 64, 64}, {1, 512, 512}, {4, 512, 512}),
        profile({1, 64, 64}, {4, 128, 128}, {4, 512, 512})};
    CHECK(plan(twins, 4, 128, 128) == "4@1");
    CHECK(plan(twins, 1, 512, 512) == "1@0");
}

TEST(graphCacheKeysOnProfileAndEvictsLeastRecentlyUsed)
{
    GraphCache<FakeGraph> cache(2);
    GraphKey a;
    a.n = 4;
    a.h = a.w = 256;
    GraphKey otherProfile = a;
    otherProfile.profile = 1;
    CHECK(cache.find(a) == nullptr);
    cache.insert(a).id = 1;
    CHECK(cache.find(otherProfile) == nullptr); // the same shape on another profile is another graph
    cache.insert(otherProfile).id = 2;
    CHECK(cache.find(a) != nullptr && cache.find(a)->id == 1); // both kept: chunks 4, 4, 2 replay
    GraphKey b = a;
    b.n = 2;
    cache.insert(b).id = 3; // evicts otherProfile, the least recently used
    CHECK(cache.size() == 2);
    CHECK(cache.find(otherProfile) == nullptr);
    CHECK(cache.find(a) != nullptr && cache.find(b) != nullptr);
    // A failed capture makes only that key eager.
    cache.markFailed(b);
    CHECK(cache.failed(b) && !cache.failed(a));
    CHECK(cache.find(b) == nullptr && cache.find(a) != nullptr);
}

TEST(standinSpecIsValidated)
{
    StandinSpec const s = parseStandinSpec(
        R"({"rmnet_standin": 1, "precision": "fp16", "profiles": [{"min": [1,64,64], "opt": [2,128,128], "max": [4,256,256]}]})",
        "x.standin");
    CHECK(s.dtype == rmnet::kernels::DType::kHALF && s.profiles.size() == 1 && s.profiles[0].max[0] == 4);
    CHECK(!s.failEnqueue);
    CHECK(isStandinPath("a/b.standin") && !isStandinPath("a/b.engine"));
    for (char const* bad : {"{}", R"({"rmnet_standin": 1, "profiles": []})",
             R"({"rmnet_standin": 1, "profiles": [{"min": [1,64,64], "opt": [1,32,32], "max": [4,256,256]}]})",
             R"({"rmnet_standin": 1, "precision": "int8", "profiles": [{"min": [1,1,1], "opt": [1,1,1], "max": [1,1,1]}]})",
             "not json"})
    {
        CHECK_THROWS_CODE(parseStandinSpec(bad, "x.standin"), rmnet::Status::kMODEL_INVALID);
    }
}

//! The stand-in's CPU twin computes its documented formula (the GPU test then holds the kernel to the twin).
TEST(standinTwinComputesItsFormula)
{
    int32_t const n = 2, h = 3, w = 4;
    std::vector<float> image(static_cast<size_t>(n) * 3 * h * w), mask(static_cast<size_t>(n) * h * w), pred(image.size());
    for (size_t i = 0; i < image.size(); ++i)
    {
        image[i] = static_cast<float>(static_cast<int>(i * 37 % 101) - 50) / 64.0f;
    }
    for (size_t i = 0; i < mask.size(); ++i)
    {
        mask[i] = i % 3 == 0 ? 1.0f : 0.0f;
    }
    rmnet::kernels::StandinParams const p{image.data(), mask.data(), pred.data(), rmnet::kernels::DType::kFLOAT,
        rmnet::kernels::DType::kFLOAT, n, h, w};
    rmnet::kernels::standinCpu(p);
    auto img = [&](int b, int c, int y, int x) {
        y = y < 0 ? 0 : (y >= h ? h - 1 : y);
        x = x < 0 ? 0 : (x >= w ? w - 1 : x);
        return image[((static_cast<size_t>(b) * 3 + c) * h + y) * w + x];
    };
    double worst = 0.0;
    for (int b = 0; b < n; ++b)
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x)
                {
                    double const m = mask[(static_cast<size_t>(b) * h + y) * w + x];
                    double const want = 0.5 * img(b, c, y, x)
                        + 0.125 * (img(b, c, y - 1, x) + img(b, c, y + 1, x) + img(b, c, y, x - 1) + img(b, c, y, x + 1))
                        - 0.125 * m * (c - 1);
                    double const got = pred[((static_cast<size_t>(b) * 3 + c) * h + y) * w + x];
                    worst = std::fmax(worst, std::fabs(want - got));
                }
    CHECK(worst < 1e-6);
    rmnet::kernels::StandinParams bad = p;
    bad.h = 0;
    bool threw = false;
    try
    {
        rmnet::kernels::standinCpu(bad);
    }
    catch (std::invalid_argument const&)
    {
        threw = true;
    }
    CHECK(threw);
}

TEST_MAIN()
