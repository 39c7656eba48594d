#pragma once
// The call graph as Graphviz DOT: a node per call (memo hits green and dashed, failures red,
// skipped calls grey, unfinished ones dotted), a grey edge from each call to the calls its body
// made (they join there), and a blue edge from each input to the call that waited for it.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/trace/model.hpp>

#include <ostream>
#include <string>

namespace desync::detail {

class dot_writer {
public:
    dot_writer(const trace_model& m, std::ostream& out) : m_(m), out_(out) {}

    void write();

private:
    static std::string id(std::uint64_t call);

    void node(const traced_call& c);

    static std::string summary(const traced_call& c);

    static std::string style(const traced_call& c);

    void edges(const traced_call& c);

    const trace_model& m_;
    std::ostream& out_;
};

/// Writes the call graph of `m` as Graphviz DOT.
inline void write_trace_dot(const trace_model& m, std::ostream& out) { dot_writer(m, out).write(); }

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/dot.ipp>
#endif
