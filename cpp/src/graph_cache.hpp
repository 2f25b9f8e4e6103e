//! \file graph_cache.hpp
//! \brief The captured CUDA graphs of a backend, keyed by everything a capture depends on.
//!
//! A graph bakes in pointers, shapes and the engine's profile, so replaying one after any of them
//! changed would run stale work. Several shapes alternate in practice (a batch of 10 with a max of 4
//! runs chunks 4, 4, 2), so a few graphs are kept, least recently used first out. A key whose
//! capture failed runs eagerly from then on; other keys still get graphs. A template over the graph
//! type so the bookkeeping is tested on the CPU with a fake graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

namespace rmnet {
namespace detail {

//! Everything a captured graph depends on: replay only while all of it is unchanged.
struct GraphKey
{
    int32_t n = 0, h = 0, w = 0;
    int32_t profile = 0;
    std::vector<std::tuple<int32_t, int32_t, int32_t, int32_t, int32_t>> jobs; // h, w, regionH, regionW, bgr
    std::vector<void const*> buffers;
    bool operator==(GraphKey const& o) const
    {
        return n == o.n && h == o.h && w == o.w && profile == o.profile && jobs == o.jobs && buffers == o.buffers;
    }
};

template <typename Graph>
class GraphCache
{
public:
    explicit GraphCache(size_t capacity = 8)
        : mCapacity(capacity == 0 ? 1 : capacity)
    {
    }

    //! The graph captured for \p key, or nullptr (and marks it most recently used).
    Graph* find(GraphKey const& key)
    {
        for (auto it = mEntries.begin(); it != mEntries.end(); ++it)
        {
            if (it->first == key)
            {
                mEntries.splice(mEntries.begin(), mEntries, it);
                return mEntries.front().second.get();
            }
        }
        return nullptr;
    }

    //! A fresh graph slot for \p key, evicting the least recently used one when full.
    Graph& insert(GraphKey key)
    {
        while (mEntries.size() >= mCapacity)
        {
            mEntries.pop_back();
        }
        mEntries.emplace_front(std::move(key), std::make_unique<Graph>());
        return *mEntries.front().second;
    }

    //! Forgets \p key's graph (after a failed capture or launch); the key then runs eagerly.
    void markFailed(GraphKey const& key)
    {
        mEntries.remove_if([&](auto const& e) { return e.first == key; });
        if (mFailed.size() >= 4 * mCapacity)
        {
            mFailed.erase(mFailed.begin());
        }
        mFailed.push_back(key);
    }

    bool failed(GraphKey const& key) const
    {
        for (GraphKey const& k : mFailed)
        {
            if (k == key)
            {
                return true;
            }
        }
        return false;
    }

    void clear()
    {
        mEntries.clear();
        mFailed.clear();
    }

    size_t size() const
    {
        return mEntries.size();
    }

private:
    size_t mCapacity;
    std::list<std::pair<GraphKey, std::unique_ptr<Graph>>> mEntries;
    std::vector<GraphKey> mFailed;
};

} // namespace detail
} // namespace rmnet
