#pragma once
// Out-of-line definitions of <desync/detail/trace/dot.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/trace/dot.hpp>

#include <desync/detail/trace/text.hpp>

#include <string_view>

namespace desync::detail {

DESYNC_DECL void dot_writer::write() {
    out_ << "digraph desync {\n"
            "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=10, labelloc=b, label="
         << dot_quote(
                "grey arrow: made by (joined by) its caller;  blue arrow: input "
                "(data or ordering);  green: memo hit")
         << "];\n"
            "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
            "fontsize=11, fillcolor=\"#dbe8f5\", color=\"#4a6d8c\"];\n"
            "  edge [color=\"#8c8c8c\", arrowsize=0.7];\n";
    for (const traced_call& c : m_.calls) node(c);
    for (const traced_call& c : m_.calls) edges(c);
    out_ << "}\n";
}

DESYNC_DECL std::string dot_writer::id(std::uint64_t call) {
    std::string s = "c";  // not "c" + to_string(): g++ 12 -O3 warns falsely (-Wrestrict)
    return s += std::to_string(call);
}

DESYNC_DECL void dot_writer::node(const traced_call& c) {
    std::string label = c.name + "\n#" + std::to_string(c.id) + "  " + summary(c);
    if (c.keyed) label += "\nkey " + c.key.to_hex().substr(0, 8);
    out_ << "  " << id(c.id) << " [label=" << dot_quote(label) << style(c) << ", tooltip="
         << dot_quote(c.name + " #" + std::to_string(c.id) +
                      (c.keyed ? " key " + c.key.to_hex() : std::string()))
         << "];\n";
}

DESYNC_DECL std::string dot_writer::summary(const traced_call& c) {
    switch (c.outcome) {
        case call_outcome::hit:
            return c.saved_ns ? "hit, saved " + human_duration(c.saved_ns) : "hit";
        case call_outcome::skipped:
            return "skipped: failed input";
        case call_outcome::unfinished:
            return "unfinished";
        case call_outcome::ran:
            break;
    }
    return (c.failed ? "failed after " : "") + human_duration(c.end_ns - c.begin_ns) +
           (c.not_recorded ? ", not recorded" : "");
}

DESYNC_DECL std::string dot_writer::style(const traced_call& c) {
    if (c.outcome == call_outcome::hit)
        return ", style=\"rounded,filled,dashed\", fillcolor=\"#d5f2d5\", color=\"#2c8a2c\"";
    if (c.outcome == call_outcome::skipped)
        return ", fillcolor=\"#e6e6e6\", color=\"#8c8c8c\", fontcolor=\"#555555\"";
    if (c.outcome == call_outcome::unfinished) return ", style=\"rounded,dotted\"";
    if (c.failed) return ", fillcolor=\"#f6d0d0\", color=\"#b03030\"";
    return "";
}

DESYNC_DECL void dot_writer::edges(const traced_call& c) {
    if (c.parent) out_ << "  " << id(c.parent) << " -> " << id(c.id) << ";\n";
    for (std::uint64_t in : c.inputs)
        out_ << "  " << id(in) << " -> " << id(c.id) << " [color=\"#1f6fb4\", penwidth=1.6];\n";
}

}  // namespace desync::detail
