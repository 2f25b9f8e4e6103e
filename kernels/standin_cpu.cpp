//! \file standin_cpu.cpp
//! \brief CPU twin of standin.cu.
#include "cpu_twins.h"

#include <stdexcept>

namespace rmnet {
namespace kernels {

void standinCpu(StandinParams const& p)
{
    if (char const* err = validateStandin(p))
    {
        throw std::invalid_argument(err);
    }
    for (int32_t b = 0; b < p.n; ++b)
    {
        for (int32_t y = 0; y < p.h; ++y)
        {
            for (int32_t x = 0; x < p.w; ++x)
            {
                standinPixel(p, b, y, x);
            }
        }
    }
}

} // namespace kernels
} // namespace rmnet
