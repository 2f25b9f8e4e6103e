//! The whole C++ GPU pipeline on the CUDA-only stand-in engine (no TensorRT needed): pinned staging,
//! streams, preprocess/stand-in/composite kernels, CUDA graph capture and replay across shapes and
//! profiles, events and timings, errors that keep their message, and two threads on two instances.
//! Every output is compared bit for bit with the CPU twins. Exits 77 (ctest: skipped) without a GPU.
//! argv[1] (optional): "--latency" prints a latency table (tests/gpu/device_check.sh).
#include "check.hpp"

#include "backend.hpp"
#include "cpu_twins.h"
#include "rmnet/inpainter.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int32_t kMODEL = 64;

struct Sample
{
    int32_t h, w;
    std::vector<uint8_t> image, mask, out;
    Sample(int32_t height, int32_t width, uint32_t seed)
        : h(height)
        , w(width)
        , image(3 * static_cast<size_t>(height) * width)
        , mask(static_cast<size_t>(height) * width)
        , out(image.size(), 0)
    {
        std::mt19937 rng(seed);
        for (auto& v : image)
        {
            v = static_cast<uint8_t>(rng() & 0xFF);
        }
        for (int32_t y = 0; y < h; ++y)
        {
            for (int32_t x = 0; x < w; ++x)
            {
                mask[static_cast<size_t>(y) * w + x] = (y > h / 4 && y < h / 2 && x > w / 3 && x < (2 * w) / 3) ? 255 : 0;
            }
        }
    }
    rmnet::ImageView in()
    {
        return rmnet::ImageView{image.data(), h, w, 3, 0};
    }
    rmnet::MaskView holes() const
    {
        return rmnet::MaskView{mask.data(), h, w, 0};
    }
    rmnet::ImageView dst()
    {
        return rmnet::ImageView{out.data(), h, w, 3, 0};
    }
};

//! preprocess -> stand-in -> composite with the CPU twins: what the GPU must produce, bit for bit.
std::vector<uint8_t> reference(Sample const& s, rmnet::kernels::DType dtype)
{
    namespace k = rmnet::kernels;
    size_t const plane = static_cast<size_t>(kMODEL) * kMODEL;
    size_t const elem = static_cast<size_t>(k::dtypeSize(dtype));
    std::vector<uint8_t> tImage(3 * plane * elem), tMask(plane * elem), tPred(3 * plane * elem);
    std::vector<uint8_t> out(s.image.size());
    rmnet::detail::Job job{rmnet::ImageView{const_cast<uint8_t*>(s.image.data()), s.h, s.w, 3, 3 * static_cast<size_t>(s.w)},
        rmnet::MaskView{s.mask.data(), s.h, s.w, static_cast<size_t>(s.w)},
        rmnet::ImageView{out.data(), s.h, s.w, 3, 3 * static_cast<size_t>(s.w)}, kMODEL, kMODEL};
    k::preprocessCpu(rmnet::detail::preprocessParams(job, kMODEL, kMODEL, dtype, tImage.data(), tMask.data()));
    k::standinCpu(k::StandinParams{tImage.data(), tMask.data(), tPred.data(), dtype, dtype, 1, kMODEL, kMODEL});
    k::compositeCpu(rmnet::detail::compositeParams(job, kMODEL, kMODEL, dtype, tPred.data()));
    return out;
}

std::string writeStandin(std::string const& name, std::string const& precision, bool fail = false)
{
    std::ofstream(name) << "{\"rmnet_standin\": 1, \"precision\": \"" << precision << "\", \"fail_enqueue\": "
                        << (fail ? "true" : "false")
                        << ", \"profiles\": [{\"min\": [1, 16, 16], \"opt\": [1, 64, 64], \"max\": [2, 128, 128]},"
                           " {\"min\": [3, 16, 16], \"opt\": [4, 64, 64], \"max\": [4, 128, 128]}]}";
    return name;
}

rmnet::Options options(std::string const& model, bool graph)
{
    rmnet::Options o;
    o.modelPath = model;
    o.backend = rmnet::Backend::kTENSORRT;
    o.modelSize = kMODEL;
    o.cudaGraph = graph;
    return o;
}

//! The input, mask and output views of a batch of samples, as Inpainter::run takes them.
struct BatchViews
{
    std::vector<rmnet::ImageView> in, out;
    std::vector<rmnet::MaskView> masks;
    explicit BatchViews(std::vector<Sample>& samples)
    {
        for (Sample& s : samples)
        {
            in.push_back(s.in());
            masks.push_back(s.holes());
            out.push_back(s.dst());
        }
    }
};

//! Runs \p n samples of mixed sizes as one batch and checks each against the CPU reference.
void checkBatch(rmnet::Inpainter& inp, int32_t n, uint32_t seed, rmnet::kernels::DType dtype)
{
    std::vector<Sample> samples;
    for (int32_t i = 0; i < n; ++i)
    {
        samples.emplace_back(40 + 7 * (i % 3), 50 + 5 * (i % 2), seed + static_cast<uint32_t>(i));
    }
    BatchViews v(samples);
    inp.run(v.in, v.masks, v.out);
    for (Sample const& s : samples)
    {
        CHECK(s.out == reference(s, dtype));
    }
}

} // namespace

TEST(pipelineMatchesCpuTwinsWithGraphsAcrossShapesAndProfiles)
{
    for (bool graph : {true, false})
    {
        for (char const* precision : {"fp32", "fp16"})
        {
            auto const dtype = std::string(precision) == "fp16" ? rmnet::kernels::DType::kHALF : rmnet::kernels::DType::kFLOAT;
            rmnet::Inpainter inp(options(writeStandin(std::string("pipe_") + precision + ".standin", precision), graph));
            // Batch sizes 1, 4, 1, 10 (chunks 4@1, 4@1, 2@0), 3 (3@1), 4: profile switches and shape changes,
            // each shape twice so the second run replays its graph.
            for (int32_t n : {1, 1, 4, 4, 1, 10, 10, 3, 3, 4})
            {
                checkBatch(inp, n, static_cast<uint32_t>(n * 17), dtype);
            }
            rmnet::StageTimes const t = inp.lastTimes();
            CHECK(t.inferMs > 0.0 && t.preprocessMs > 0.0 && t.compositeMs > 0.0); // events recorded on replays too
        }
    }
}

TEST(enqueueFailureKeepsItsMessage)
{
    rmnet::Inpainter inp(options(writeStandin("fail.standin", "fp32", true), true));
    Sample s(40, 40, 1);
    bool threw = false;
    try
    {
        inp.run(s.in(), s.holes(), s.dst());
    }
    catch (rmnet::Error const& e)
    {
        threw = true;
        CHECK(e.code() == rmnet::Status::kINFERENCE_FAILED);
        CHECK(std::strstr(e.what(), "fail_enqueue") != nullptr);
    }
    CHECK(threw);
}

TEST(twoThreadsOnTwoInstances)
{
    std::string const model = writeStandin("threads.standin", "fp32");
    auto work = [&](uint32_t seed, int* failures) {
        rmnet::Inpainter inp(options(model, true));
        for (int32_t round = 0; round < 20; ++round)
        {
            Sample s(48 + (round % 3) * 8, 64, seed + static_cast<uint32_t>(round));
            inp.run(s.in(), s.holes(), s.dst());
            *failures += s.out == reference(s, rmnet::kernels::DType::kFLOAT) ? 0 : 1;
        }
    };
    int fa = 0, fb = 0;
    std::thread a(work, 100u, &fa), b(work, 200u, &fb);
    a.join();
    b.join();
    CHECK(fa == 0 && fb == 0);
}

TEST(networkAloneMatchesTheTwin)
{
    rmnet::Inpainter inp(options(writeStandin("infer.standin", "fp32"), true));
    int32_t const n = 5, h = 32, w = 48;
    std::vector<float> image(static_cast<size_t>(n) * 3 * h * w), mask(static_cast<size_t>(n) * h * w), got(image.size()),
        want(image.size());
    std::mt19937 rng(7);
    for (auto& v : image)
    {
        v = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
    }
    for (auto& v : mask)
    {
        v = static_cast<float>(rng() % 2);
    }
    inp.infer(image.data(), mask.data(), n, h, w, got.data()); // chunks 4@1 + 1@0
    rmnet::kernels::standinCpu(rmnet::kernels::StandinParams{image.data(), mask.data(), want.data(),
        rmnet::kernels::DType::kFLOAT, rmnet::kernels::DType::kFLOAT, n, h, w});
    CHECK(got == want);
}

namespace {

void latencyTable()
{
    std::printf("| mode | batch | preprocess ms | network ms | composite ms | total ms |\n|---|---|---|---|---|---|\n");
    for (bool graph : {false, true})
    {
        for (int32_t n : {1, 4})
        {
            rmnet::Inpainter inp(options(writeStandin("latency.standin", "fp16"), graph));
            std::vector<Sample> samples;
            for (int32_t i = 0; i < n; ++i)
            {
                samples.emplace_back(480, 640, static_cast<uint32_t>(i));
            }
            BatchViews const v(samples);
            for (int32_t i = 0; i < 5; ++i)
            {
                inp.run(v.in, v.masks, v.out); // warm-up and capture
            }
            int32_t const runs = 50;
            double pre = 0, net = 0, comp = 0, total = 0;
            for (int32_t i = 0; i < runs; ++i)
            {
                auto const t0 = std::chrono::steady_clock::now();
                inp.run(v.in, v.masks, v.out);
                total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                rmnet::StageTimes const t = inp.lastTimes();
                pre += t.preprocessMs;
                net += t.inferMs;
                comp += t.compositeMs;
            }
            std::printf("| %s | %d | %.3f | %.3f | %.3f | %.3f |\n", graph ? "graph" : "eager", n, pre / runs, net / runs,
                comp / runs, total / runs);
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (rmnet::cudaDeviceCount() == 0)
    {
        std::printf("SKIP: no CUDA device (%s)\n", rmnet::buildInfo());
        return 77;
    }
    if (argc > 1 && std::string(argv[1]) == "--latency")
    {
        latencyTable();
        return 0;
    }
    return rmnet_test::runAll();
}
