//! \file pixel_formats_cpu.cpp
//! \brief CPU twin of pixel_formats.cu.
#include "pixel_formats_launch.h"

#include <stdexcept>

namespace rmnet {
namespace kernels {

void convertCpu(ConvertParams const& p)
{
    if (char const* err = validateConvert(p))
    {
        throw std::invalid_argument(err);
    }
    for (int32_t y = 0; y < p.height; ++y)
    {
        for (int32_t x = 0; x < p.width; ++x)
        {
            convertPixel(p, y, x);
        }
    }
}

} // namespace kernels
} // namespace rmnet
