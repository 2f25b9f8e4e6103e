//! \file preprocess_cpu.cpp
//! \brief CPU twin of preprocess.cu.
#include "cpu_twins.h"

#include <stdexcept>

namespace rmnet {
namespace kernels {

void preprocessCpu(PreprocessParams const& p)
{
    if (char const* err = validatePreprocess(p))
    {
        throw std::invalid_argument(err);
    }
    for (int32_t y = 0; y < p.dstH; ++y)
    {
        for (int32_t x = 0; x < p.dstW; ++x)
        {
            preprocessPixel(p, y, x);
        }
    }
}

} // namespace kernels
} // namespace rmnet
