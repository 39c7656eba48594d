#pragma once
// A timeline picture of a trace as a standalone SVG (no script, no external resource, so it
// shows in a README or any browser): a lane per thread, a bar per call that ran (colour by
// function, calls nested in a wait drawn below their caller), its join hatched, memo hits as
// green diamonds, skipped calls as grey crosses, and a tooltip on each.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/trace/model.hpp>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace desync::detail {

class svg_writer {
public:
    svg_writer(const trace_model& m, std::ostream& out);

    void write();

private:
    static constexpr double width = 960, left = 120, right = 16, top = 58, row = 22;
    static constexpr double plot = width - left - right;

    struct item {
        const traced_call* call;
        std::size_t depth;
    };

    // Depth of each call in its lane: bodies nest on a thread (a waiting body runs the call it
    // waits for), so a stack of open end times gives it. A marker and its label take room to
    // the right of their time: whatever starts there goes below.
    void place();

    // Room a marker and its label take (a bar takes its own length).
    static double marker_width(const traced_call& c);

    static double label_width(const std::string& text) {
        return static_cast<double>(text.size()) * 6.2;
    }

    double lane_height(std::size_t i) const;

    double x(std::int64_t ns) const {
        return left + plot * static_cast<double>(ns) / static_cast<double>(span_);
    }

    void title();

    // Time ticks at 1, 2 or 5 times a power of ten, about eight across the plot.
    void axis(double bottom);

    void lane(std::size_t i, double y);

    void bar(const traced_call& c, double y);

    void marker(const traced_call& c, double cy);

    // The hit's label, right of the marker, or left of it where it would leave the picture.
    static std::string hit_label(const traced_call& c, double cx, double cy);

    static std::string tooltip(const traced_call& c);

    static const char* colour(const traced_call& c);

    // A key to the marks: bars and joins always, hits and skipped calls when there are any.
    void legend(double y);

    const trace_model& m_;
    std::ostream& out_;
    std::int64_t span_;
    std::vector<std::vector<item>> lanes_;
};

/// Writes a timeline of `m` as SVG.
inline void write_trace_svg(const trace_model& m, std::ostream& out) { svg_writer(m, out).write(); }

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/svg.ipp>
#endif
