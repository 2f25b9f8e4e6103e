//! \file cuda_graph.cpp
#include "cuda_graph.hpp"

namespace rmnet {
namespace detail {

CudaGraph::~CudaGraph()
{
    reset();
}

void CudaGraph::reset()
{
    if (mExec != nullptr)
    {
        cudaGraphExecDestroy(mExec);
        mExec = nullptr;
    }
    if (mGraph != nullptr)
    {
        cudaGraphDestroy(mGraph);
        mGraph = nullptr;
    }
}

bool CudaGraph::capture(cudaStream_t stream, std::function<bool(cudaStream_t)> const& enqueue)
{
    reset();
    // Thread-local mode: another thread's unrelated CUDA calls do not invalidate this capture.
    if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess)
    {
        (void) cudaGetLastError();
        return false;
    }
    bool const enqueued = enqueue(stream);
    cudaGraph_t graph = nullptr;
    cudaError_t const ended = cudaStreamEndCapture(stream, &graph);
    if (!enqueued || ended != cudaSuccess || graph == nullptr
        || cudaGraphInstantiate(&mExec, graph, 0) != cudaSuccess)
    {
        if (graph != nullptr)
        {
            cudaGraphDestroy(graph);
        }
        mExec = nullptr;
        (void) cudaGetLastError();
        return false;
    }
    mGraph = graph;
    return true;
}

cudaError_t CudaGraph::launch(cudaStream_t stream) const
{
    return cudaGraphLaunch(mExec, stream);
}

} // namespace detail
} // namespace rmnet
