//! \file composite_cpu.cpp
//! \brief CPU twin of composite.cu.
#include "cpu_twins.h"

#include <stdexcept>

namespace rmnet {
namespace kernels {

void compositeCpu(CompositeParams const& p)
{
    if (char const* err = validateComposite(p))
    {
        throw std::invalid_argument(err);
    }
    for (int32_t y = 0; y < p.height; ++y)
    {
        for (int32_t x = 0; x < p.width; ++x)
        {
            compositePixel(p, y, x);
        }
    }
}

} // namespace kernels
} // namespace rmnet
