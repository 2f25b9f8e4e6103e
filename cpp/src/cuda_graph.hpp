//! \file cuda_graph.hpp
//! \brief A captured CUDA graph of one enqueue sequence (preprocess + enqueueV3 + composite).
#pragma once

#include <cuda_runtime.h>

#include <functional>

namespace rmnet {
namespace detail {

class CudaGraph
{
public:
    CudaGraph() = default;
    ~CudaGraph();
    CudaGraph(CudaGraph const&) = delete;
    CudaGraph& operator=(CudaGraph const&) = delete;

    //! Captures the work \p enqueue puts on \p stream (it must return false on failure). Returns
    //! false, keeping nothing, when the sequence cannot be captured; the caller then runs eagerly.
    //! Call after one eager run, so that lazy initialisation is not captured.
    bool capture(cudaStream_t stream, std::function<bool(cudaStream_t)> const& enqueue);

    //! Replays the captured work on \p stream.
    cudaError_t launch(cudaStream_t stream) const;

    bool valid() const
    {
        return mExec != nullptr;
    }
    void reset();

private:
    cudaGraph_t mGraph = nullptr;
    cudaGraphExec_t mExec = nullptr;
};

} // namespace detail
} // namespace rmnet
