//! \file temporal_stability.hpp
//! \brief camera_inpaint's --stability: the C++ port of rmnet_sdk.video_stability.TemporalStabilizer.
//!
//! Keeps a running (exponential) average of each hole's fill while the known pixels around the hole
//! (a ring of `ring` pixels) stay still: the change of a hole's surroundings is the mean absolute
//! difference between this frame and the previous one on its ring after a `blur` x `blur` box blur;
//! the previous fill's weight is `strength` up to a change of `still`, falling linearly to 0 at
//! `moving`; a mean change above `cut` on a 64-pixel-wide thumbnail resets the history (scene cut).
//! Only hole pixels change. The Python class is the reference; the parameters are the same.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace camera {

class TemporalStabilizer
{
public:
    float strength = 0.8f;
    float still = 2.0f;
    float moving = 6.0f;
    float cut = 30.0f;
    int ring = 8;
    int blur = 5;
    int resets = 0; //!< scene cuts detected

    void reset()
    {
        mHole.release();
        mPrevThumb.release();
        mPrevBlur.release();
        mPrevBase.release();
        mPrevHole.release();
        mState.release();
    }

    //! \p frame, \p out: CV_8UC3 (out = frame with its holes filled); \p hole: CV_8UC1, nonzero = hole.
    void apply(cv::Mat const& frame, cv::Mat const& hole, cv::Mat& out)
    {
        int const h = frame.rows, w = frame.cols;
        cv::Mat thumb;
        cv::resize(frame, thumb, cv::Size(64, std::max(1, static_cast<int>(std::lround(64.0 * h / w)))), 0, 0,
            cv::INTER_AREA);
        thumb.convertTo(thumb, CV_32FC3);
        if (!mState.empty() && (mState.size() != frame.size() || meanAbsDiff(thumb, mPrevThumb) > cut))
        {
            ++resets;
            reset();
        }
        updateLayout(hole);
        cv::Rect const box = mBox;
        cv::Mat blurred;
        cv::blur(frame(box), blurred, cv::Size(blur, blur));
        blurred.convertTo(blurred, CV_32FC3);
        size_t const n = mHoleIdx.size();
        std::vector<float> weight(n, 0.0f);
        if (mState.empty())
        {
            mState = cv::Mat::zeros(frame.size(), CV_32FC3);
        }
        else
        {
            cv::Mat prevBlur = mPrevBlur;
            if (prevBlur.empty() || mPrevBox != box)
            {
                cv::blur(mPrevBase(box), prevBlur, cv::Size(blur, blur));
                prevBlur.convertTo(prevBlur, CV_32FC3);
            }
            std::vector<double> sums(static_cast<size_t>(mComponents), 0.0);
            for (size_t k = 0; k < mRingPts.size(); ++k)
            {
                cv::Vec3f const a = blurred.at<cv::Vec3f>(mRingPts[k]);
                cv::Vec3f const b = prevBlur.at<cv::Vec3f>(mRingPts[k]);
                sums[static_cast<size_t>(mRingLabel[k])]
                    += (std::fabs(a[0] - b[0]) + std::fabs(a[1] - b[1]) + std::fabs(a[2] - b[2])) / 3.0;
            }
            std::vector<float> compWeight(static_cast<size_t>(mComponents), 0.0f);
            for (int c = 0; c < mComponents; ++c)
            {
                int const count = mRingCount[static_cast<size_t>(c)];
                if (count == 0)
                {
                    continue; // no known ring: no evidence of stillness
                }
                double const change = sums[static_cast<size_t>(c)] / count;
                double const ramp = std::min(1.0, std::max(0.0, (moving - change) / (moving - still)));
                compWeight[static_cast<size_t>(c)] = static_cast<float>(strength * ramp);
            }
            for (size_t i = 0; i < n; ++i)
            {
                bool const wasHole = mPrevHole.data[mHoleIdx[i]] != 0;
                weight[i] = wasHole ? compWeight[static_cast<size_t>(mHoleLabel[i])] : 0.0f;
            }
        }
        auto* state = reinterpret_cast<cv::Vec3f*>(mState.data);
        for (size_t i = 0; i < n; ++i)
        {
            size_t const at = mHoleIdx[i];
            int const y = static_cast<int>(at / static_cast<size_t>(w));
            int const x = static_cast<int>(at % static_cast<size_t>(w));
            cv::Vec3b& px = out.at<cv::Vec3b>(y, x);
            for (int c = 0; c < 3; ++c)
            {
                float const blended = weight[i] * state[at][c] + (1.0f - weight[i]) * static_cast<float>(px[c]);
                state[at][c] = blended;
                px[c] = cv::saturate_cast<uint8_t>(std::nearbyint(blended));
            }
        }
        mPrevThumb = thumb;
        mPrevBlur = blurred;
        mPrevBox = box;
        mPrevHole = mHole.clone();
        frame.copyTo(mPrevBase);
    }

private:
    static double meanAbsDiff(cv::Mat const& a, cv::Mat const& b)
    {
        cv::Mat d;
        cv::absdiff(a, b, d);
        cv::Scalar const s = cv::mean(d);
        return (s[0] + s[1] + s[2]) / 3.0;
    }

    void updateLayout(cv::Mat const& holeIn)
    {
        cv::Mat hole = holeIn != 0;
        if (!mHole.empty() && mHole.size() == hole.size() && cv::countNonZero(mHole != hole) == 0)
        {
            return;
        }
        mHole = hole;
        cv::Mat labels;
        int const n = cv::connectedComponents(hole, labels, 8, CV_32S);
        mComponents = std::max(n - 1, 1);
        cv::Mat labelsF;
        labels.convertTo(labelsF, CV_32F);
        cv::Mat ringLabels;
        cv::dilate(labelsF, ringLabels, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * ring + 1, 2 * ring + 1)));
        cv::Mat const ringMask = (ringLabels > 0) & (hole == 0);
        cv::Rect box(0, 0, hole.cols, hole.rows);
        cv::Mat pts;
        cv::findNonZero(ringMask | hole, pts);
        if (!pts.empty())
        {
            cv::Rect const b = cv::boundingRect(pts);
            int const m = blur / 2;
            int const x0 = std::max(b.x - m, 0), y0 = std::max(b.y - m, 0);
            int const x1 = std::min(b.x + b.width + m, hole.cols), y1 = std::min(b.y + b.height + m, hole.rows);
            box = cv::Rect(x0, y0, x1 - x0, y1 - y0);
        }
        mBox = box;
        mHoleIdx.clear();
        mHoleLabel.clear();
        mRingPts.clear();
        mRingLabel.clear();
        mRingCount.assign(static_cast<size_t>(mComponents), 0);
        for (int y = 0; y < hole.rows; ++y)
        {
            for (int x = 0; x < hole.cols; ++x)
            {
                if (hole.at<uint8_t>(y, x))
                {
                    mHoleIdx.push_back(static_cast<size_t>(y) * hole.cols + x);
                    mHoleLabel.push_back(labels.at<int32_t>(y, x) - 1);
                }
                else if (ringMask.at<uint8_t>(y, x))
                {
                    int const label = static_cast<int>(ringLabels.at<float>(y, x)) - 1;
                    mRingPts.emplace_back(x - box.x, y - box.y);
                    mRingLabel.push_back(label);
                    mRingCount[static_cast<size_t>(label)] += 1;
                }
            }
        }
    }

    cv::Mat mHole, mPrevThumb, mPrevBlur, mPrevBase, mPrevHole, mState;
    cv::Rect mBox, mPrevBox;
    int mComponents = 1;
    std::vector<size_t> mHoleIdx;
    std::vector<int> mHoleLabel;
    std::vector<cv::Point> mRingPts;
    std::vector<int> mRingLabel;
    std::vector<int> mRingCount;
};

} // namespace camera
