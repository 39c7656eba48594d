#pragma once
// Out-of-line definitions of <desync/detail/trace/svg.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/trace/svg.hpp>

#include <desync/detail/trace/text.hpp>

#include <algorithm>
#include <cmath>

namespace desync::detail {

DESYNC_DECL svg_writer::svg_writer(const trace_model& m, std::ostream& out)
    : m_(m), out_(out), span_(std::max<std::int64_t>(m.duration_ns, 1)) {
    place();
}

DESYNC_DECL void svg_writer::write() {
    double y = top;
    for (std::size_t i = 0; i < m_.lanes.size(); ++i) y += lane_height(i);
    const double height = y + 44;
    out_ << R"(<svg xmlns="http://www.w3.org/2000/svg" width=")" << width << R"(" height=")"
         << fixed(height, 0) << R"(" viewBox="0 0 )" << width << ' ' << fixed(height, 0)
         << R"(" font-family="Helvetica, Arial, sans-serif" font-size="11">)" << '\n'
         << R"(<defs><pattern id="join" width="6" height="6" patternUnits="userSpaceOnUse" )"
         << R"~(patternTransform="rotate(45)"><rect width="2.5" height="6" fill="#ffffff" )~"
         << R"(fill-opacity="0.7"/></pattern></defs>)" << '\n'
         << R"(<rect width="100%" height="100%" fill="#ffffff"/>)" << '\n';
    title();
    axis(y);
    double lane_y = top;
    for (std::size_t i = 0; i < m_.lanes.size(); ++i) {
        lane(i, lane_y);
        lane_y += lane_height(i);
    }
    legend(y + 16);
    out_ << "</svg>\n";
}

DESYNC_DECL void svg_writer::place() {
    lanes_.resize(m_.lanes.size());
    for (const traced_call& c : m_.calls)
        if (c.outcome != call_outcome::unfinished && c.lane < lanes_.size())
            lanes_[c.lane].push_back({&c, 0});
    for (auto& items : lanes_) {
        std::stable_sort(items.begin(), items.end(), [](const item& a, const item& b) {
            if (a.call->begin_ns != b.call->begin_ns) return a.call->begin_ns < b.call->begin_ns;
            return a.call->end_ns > b.call->end_ns;
        });
        std::vector<double> open;  // right edges, in pixels
        for (item& it : items) {
            const double left_x = x(it.call->begin_ns);
            while (!open.empty() && open.back() <= left_x) open.pop_back();
            it.depth = open.size();
            open.push_back(std::max(x(it.call->end_ns), left_x + marker_width(*it.call)));
        }
    }
}

DESYNC_DECL double svg_writer::marker_width(const traced_call& c) {
    if (c.outcome == call_outcome::hit) return 14 + label_width(c.name + " (hit)");
    return c.outcome == call_outcome::skipped ? 12 : 1;
}

DESYNC_DECL double svg_writer::lane_height(std::size_t i) const {
    std::size_t depth = 0;
    for (const item& it : lanes_[i]) depth = std::max(depth, it.depth);
    return static_cast<double>(depth + 1) * row + 10;
}

DESYNC_DECL void svg_writer::title() {
    std::size_t hits = 0;
    for (const traced_call& c : m_.calls) hits += c.outcome == call_outcome::hit;
    std::string t = "desync trace: " + std::to_string(m_.calls.size()) + " calls";
    if (hits) t += " (" + std::to_string(hits) + " memo hits)";
    t += " on " + std::to_string(m_.lanes.size()) + " threads, " + human_duration(m_.duration_ns);
    out_ << R"(<text x="8" y="22" font-size="15" font-weight="bold" fill="#222222">)"
         << xml_escape(t) << "</text>\n";
}

DESYNC_DECL void svg_writer::axis(double bottom) {
    const double raw = static_cast<double>(span_) / 8;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw <= mag       ? mag
                        : raw <= 2 * mag ? 2 * mag
                        : raw <= 5 * mag ? 5 * mag
                                         : 10 * mag;
    const double unit = span_ >= 1'000'000'000 ? 1e9 : span_ >= 1'000'000 ? 1e6 : 1e3;
    const char* name = unit == 1e9 ? " s" : unit == 1e6 ? " ms" : " \u00b5s";
    const int decimals =
        step / unit >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step / unit)));
    for (double t = 0; t <= static_cast<double>(span_) * 1.0001; t += step) {
        const double at = x(static_cast<std::int64_t>(t));
        out_ << R"(<line x1=")" << fixed(at) << R"(" y1=")" << fixed(top - 8) << R"(" x2=")"
             << fixed(at) << R"(" y2=")" << fixed(bottom) << R"(" stroke="#e2e2e2"/>)"
             << R"(<text x=")" << fixed(at) << R"(" y=")" << fixed(top - 12)
             << R"(" text-anchor="middle" fill="#666666">)" << fixed(t / unit, decimals) << name
             << "</text>\n";
    }
}

DESYNC_DECL void svg_writer::lane(std::size_t i, double y) {
    const double h = lane_height(i);
    out_ << R"(<rect x="0" y=")" << fixed(y) << R"(" width=")" << width << R"(" height=")"
         << fixed(h) << R"(" fill=")" << (i % 2 ? "#ffffff" : "#f4f6f8")
         << R"(" fill-opacity="0.8"/>)"
         << R"(<text x="8" y=")" << fixed(y + h / 2 + 4) << R"(" fill="#333333">)"
         << xml_escape(m_.lanes[i]) << "</text>\n";
    for (const item& it : lanes_[i]) {
        const double top_y = y + 5 + static_cast<double>(it.depth) * row;
        if (it.call->outcome == call_outcome::ran)
            bar(*it.call, top_y);
        else
            marker(*it.call, top_y + (row - 4) / 2);
    }
}

DESYNC_DECL void svg_writer::bar(const traced_call& c, double y) {
    const double x0 = x(c.begin_ns), w = std::max(x(c.end_ns) - x0, 1.0);
    out_ << "<g><title>" << xml_escape(tooltip(c)) << "</title>"
         << R"(<rect x=")" << fixed(x0) << R"(" y=")" << fixed(y) << R"(" width=")" << fixed(w)
         << R"(" height=")" << row - 4 << R"(" rx="2" fill=")" << colour(c) << R"(" stroke=")"
         << (c.failed ? "#b03030" : "#5a5a5a") << R"(" stroke-width="0.6"/>)";
    if (c.end_ns > c.joining_ns) {
        const double j = x(c.joining_ns);
        out_ << R"(<rect x=")" << fixed(j) << R"(" y=")" << fixed(y) << R"(" width=")"
             << fixed(std::max(x(c.end_ns) - j, 0.5)) << R"(" height=")" << row - 4
             << R"~(" fill="url(#join)"/>)~";
    }
    std::string label = c.name + "  " + human_duration(c.end_ns - c.begin_ns);
    if (label_width(label) + 8 > w) label = c.name;
    if (label_width(label) + 8 <= w)
        out_ << R"(<text x=")" << fixed(x0 + 4) << R"(" y=")" << fixed(y + 13)
             << R"(" fill="#1a1a1a" stroke="#ffffff" stroke-width="2.5" stroke-opacity="0.6")"
             << R"( paint-order="stroke">)" << xml_escape(label) << "</text>";
    out_ << "</g>\n";
}

DESYNC_DECL void svg_writer::marker(const traced_call& c, double cy) {
    const double cx = x(c.begin_ns);
    out_ << "<g><title>" << xml_escape(tooltip(c)) << "</title>";
    if (c.outcome == call_outcome::hit)
        out_ << R"(<polygon points=")" << fixed(cx) << ',' << fixed(cy - 7) << ' ' << fixed(cx + 6)
             << ',' << fixed(cy) << ' ' << fixed(cx) << ',' << fixed(cy + 7) << ' ' << fixed(cx - 6)
             << ',' << fixed(cy) << R"(" fill="#2ca02c" stroke="#1d6b1d"/>)"
             << hit_label(c, cx, cy);
    else
        out_ << R"(<path d="M)" << fixed(cx - 5) << ' ' << fixed(cy - 5) << " L" << fixed(cx + 5)
             << ' ' << fixed(cy + 5) << " M" << fixed(cx - 5) << ' ' << fixed(cy + 5) << " L"
             << fixed(cx + 5) << ' ' << fixed(cy - 5) << R"(" stroke="#777777" stroke-width="2"/>)";
    out_ << "</g>\n";
}

DESYNC_DECL std::string svg_writer::hit_label(const traced_call& c, double cx, double cy) {
    const std::string text = c.name + " (hit)";
    const bool left = cx + 9 + label_width(text) > width - 4;
    return R"(<text x=")" + fixed(left ? cx - 9 : cx + 9) + R"(" y=")" + fixed(cy + 4) +
           (left ? R"(" text-anchor="end)" : "") + R"(" fill="#1d6b1d">)" + xml_escape(text) +
           "</text>";
}

DESYNC_DECL std::string svg_writer::tooltip(const traced_call& c) {
    std::string t = c.name + " #" + std::to_string(c.id);
    if (c.parent) t += " (made by #" + std::to_string(c.parent) + ")";
    if (c.outcome == call_outcome::hit)
        t += "\nmemo hit" + (c.saved_ns ? ", saved " + human_duration(c.saved_ns) : std::string());
    else if (c.outcome == call_outcome::skipped)
        t += "\nskipped: an input failed";
    else
        t += "\nran " + human_duration(c.end_ns - c.begin_ns) + ", of which join " +
             human_duration(c.end_ns - c.joining_ns) + "; waited " +
             human_duration(c.begin_ns - c.made_ns) + " to start" + (c.failed ? "; failed" : "");
    if (c.keyed) t += "\nkey " + c.key.to_hex();
    return t;
}

DESYNC_DECL const char* svg_writer::colour(const traced_call& c) {
    static constexpr const char* palette[] = {"#a9c4f5", "#f9c98f", "#c8b6ec", "#9fd8de",
                                              "#f3b3cb", "#d9db9a", "#d8b89f", "#b8c4d3",
                                              "#f0aa9f", "#ecd68e"};
    return palette[(c.function + 9) % 10];
}

DESYNC_DECL void svg_writer::legend(double y) {
    bool hits = false, skipped = false;
    for (const traced_call& c : m_.calls) {
        hits = hits || c.outcome == call_outcome::hit;
        skipped = skipped || c.outcome == call_outcome::skipped;
    }
    const std::string at = fixed(y), box = fixed(y - 10);
    out_ << R"(<g fill="#333333"><rect x="8" y=")" << box
         << R"(" width="26" height="12" rx="2" fill="#a9c4f5")"
         << R"( stroke="#5a5a5a" stroke-width="0.6"/>)"
         << R"(<text x="40" y=")" << at << R"(">call (colour: function)</text>)"
         << R"(<rect x="190" y=")" << box << R"(" width="26" height="12" rx="2" fill="#a9c4f5")"
         << R"( stroke="#5a5a5a" stroke-width="0.6"/>)"
         << R"(<rect x="190" y=")" << box << R"~(" width="26" height="12" fill="url(#join)"/>)~"
         << R"(<text x="222" y=")" << at
         << R"(">join: body returned, waiting for the calls it made</text>)";
    double x = 530;
    if (hits) {
        out_ << R"(<polygon points=")" << fixed(x) << ',' << fixed(y - 11) << ' ' << fixed(x + 6)
             << ',' << fixed(y - 4) << ' ' << fixed(x) << ',' << fixed(y + 3) << ' ' << fixed(x - 6)
             << ',' << fixed(y - 4) << R"(" fill="#2ca02c" stroke="#1d6b1d"/>)"
             << R"(<text x=")" << fixed(x + 12) << R"(" y=")" << at << R"(">memo hit</text>)";
        x += 95;
    }
    if (skipped)
        out_ << R"(<path d="M)" << fixed(x - 5) << ' ' << fixed(y - 9) << " L" << fixed(x + 5)
             << ' ' << fixed(y + 1) << " M" << fixed(x - 5) << ' ' << fixed(y + 1) << " L"
             << fixed(x + 5) << ' ' << fixed(y - 9) << R"(" stroke="#777777" stroke-width="2"/>)"
             << R"(<text x=")" << fixed(x + 12) << R"(" y=")" << at
             << R"(">skipped: an input failed</text>)";
    out_ << "</g>\n";
}

}  // namespace desync::detail
