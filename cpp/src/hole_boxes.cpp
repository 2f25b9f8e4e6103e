//! \file hole_boxes.cpp
//! \brief rmnet::holeBoxes: the crop strategy's boxes, the twin of rmnet_sdk.inpainter.hole_boxes.
//!
//! The Python function labels clusters with OpenCV; here a two-pass union-find does it without
//! OpenCV (the runtime builds without it). Only each cluster's bounding box matters, and both sides
//! sort the boxes by (top, left, bottom, right) before growing and merging, so they agree whatever
//! order a labelling algorithm finds the clusters in.
#include "rmnet/inpainter.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace rmnet {
namespace {

int32_t findRoot(std::vector<int32_t>& parent, int32_t i)
{
    while (parent[static_cast<size_t>(i)] != i)
    {
        parent[static_cast<size_t>(i)] = parent[static_cast<size_t>(parent[static_cast<size_t>(i)])];
        i = parent[static_cast<size_t>(i)];
    }
    return i;
}

//! Bounding boxes of the 8-connected clusters of nonzero mask pixels.
std::vector<Box> clusterBoxes(MaskView const& m)
{
    int32_t const h = m.height;
    int32_t const w = m.width;
    size_t const pitch = m.pitch == 0 ? static_cast<size_t>(w) : m.pitch;
    std::vector<int32_t> labels(static_cast<size_t>(h) * w, -1);
    std::vector<int32_t> parent;
    auto at = [&](int32_t y, int32_t x) -> int32_t& { return labels[static_cast<size_t>(y) * w + x]; };
    for (int32_t y = 0; y < h; ++y)
    {
        uint8_t const* row = m.data + static_cast<size_t>(y) * pitch;
        for (int32_t x = 0; x < w; ++x)
        {
            if (row[x] == 0)
            {
                continue;
            }
            int32_t label = -1;
            // the already-visited 8-neighbours: W, NW, N, NE
            int32_t const ny[] = {y, y - 1, y - 1, y - 1};
            int32_t const nx[] = {x - 1, x - 1, x, x + 1};
            for (int k = 0; k < 4; ++k)
            {
                if (ny[k] < 0 || nx[k] < 0 || nx[k] >= w)
                {
                    continue;
                }
                int32_t const other = at(ny[k], nx[k]);
                if (other < 0)
                {
                    continue;
                }
                if (label < 0)
                {
                    label = findRoot(parent, other);
                }
                else
                {
                    int32_t const a = findRoot(parent, label);
                    int32_t const b = findRoot(parent, other);
                    if (a != b)
                    {
                        parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
                        label = std::min(a, b);
                    }
                }
            }
            if (label < 0)
            {
                label = static_cast<int32_t>(parent.size());
                parent.push_back(label);
            }
            at(y, x) = label;
        }
    }
    std::vector<Box> byRoot(parent.size(), Box{w, h, -1, -1});
    std::vector<bool> used(parent.size(), false);
    for (int32_t y = 0; y < h; ++y)
    {
        for (int32_t x = 0; x < w; ++x)
        {
            int32_t const l = at(y, x);
            if (l < 0)
            {
                continue;
            }
            size_t const r = static_cast<size_t>(findRoot(parent, l));
            Box& b = byRoot[r];
            used[r] = true;
            b.x0 = std::min(b.x0, x);
            b.y0 = std::min(b.y0, y);
            b.x1 = std::max(b.x1, x + 1);
            b.y1 = std::max(b.y1, y + 1);
        }
    }
    std::vector<Box> boxes;
    for (size_t r = 0; r < byRoot.size(); ++r)
    {
        if (used[r])
        {
            boxes.push_back(byRoot[r]);
        }
    }
    std::sort(boxes.begin(), boxes.end(), [](Box const& a, Box const& b) {
        return std::tie(a.y0, a.x0, a.y1, a.x1) < std::tie(b.y0, b.x0, b.y1, b.x1);
    });
    return boxes;
}

//! Python's grow(): side = max(w + 2m, h + 2m, res), clipped to the image, centred on the cluster
//! (`round(min(max(c - side/2, 0), W - side))`, round half to even like Python's round()).
Box grow(Box const& b, int32_t res, int32_t margin, int32_t h, int32_t w)
{
    int64_t const side = std::max<int64_t>({static_cast<int64_t>(b.x1) - b.x0 + 2 * int64_t{margin},
        static_cast<int64_t>(b.y1) - b.y0 + 2 * int64_t{margin}, res});
    int32_t const bw = static_cast<int32_t>(std::min<int64_t>(side, w));
    int32_t const bh = static_cast<int32_t>(std::min<int64_t>(side, h));
    // (x0 + x1)/2 - bw/2 is a multiple of 1/2: exact in double
    double const left = std::min(std::max((static_cast<double>(b.x0) + b.x1 - bw) / 2.0, 0.0),
        static_cast<double>(w - bw));
    double const top = std::min(std::max((static_cast<double>(b.y0) + b.y1 - bh) / 2.0, 0.0),
        static_cast<double>(h - bh));
    int32_t const nx0 = static_cast<int32_t>(std::nearbyint(left)); // default mode: half to even
    int32_t const ny0 = static_cast<int32_t>(std::nearbyint(top));
    return Box{nx0, ny0, nx0 + bw, ny0 + bh};
}

} // namespace

std::vector<Box> holeBoxes(MaskView const& mask, int32_t modelSize, int32_t margin)
{
    if (mask.data == nullptr || mask.height <= 0 || mask.width <= 0)
    {
        throw Error(Status::kINVALID_ARGUMENT, "holeBoxes: empty or null mask");
    }
    if (mask.pitch != 0 && mask.pitch < static_cast<size_t>(mask.width))
    {
        throw Error(Status::kINVALID_ARGUMENT, "holeBoxes: mask row pitch < width");
    }
    if (modelSize <= 0 || margin < 0)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "holeBoxes: modelSize must be positive and margin >= 0, got " + std::to_string(modelSize) + ", "
                + std::to_string(margin));
    }
    int32_t const h = mask.height;
    int32_t const w = mask.width;
    std::vector<Box> boxes;
    for (Box const& b : clusterBoxes(mask))
    {
        boxes.push_back(grow(b, modelSize, margin, h, w));
    }
    bool merged = true;
    while (merged)
    {
        merged = false;
        std::vector<Box> out;
        for (Box const& b : boxes)
        {
            bool placed = false;
            for (Box& o : out)
            {
                if (b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1)
                {
                    o = grow(Box{std::min(b.x0, o.x0) + margin, std::min(b.y0, o.y0) + margin,
                                 std::max(b.x1, o.x1) - margin, std::max(b.y1, o.y1) - margin},
                        modelSize, margin, h, w);
                    merged = true;
                    placed = true;
                    break;
                }
            }
            if (!placed)
            {
                out.push_back(b);
            }
        }
        boxes = std::move(out);
    }
    return boxes;
}

} // namespace rmnet
