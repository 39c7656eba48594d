#pragma once
// The Chrome Trace Event format (JSON object form), as ui.perfetto.dev and chrome://tracing
// read it: one process, one thread (lane) per thread that ran calls, named by metadata events;
// a complete event ("X") per call that ran, with a nested "join" slice for the time its join
// waited; memo hits and skipped calls as thread-scoped instant events ("i"); the time a call
// waited for its inputs as an async slice ("b"/"e"). Times are microseconds, ns exact.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/trace/model.hpp>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

namespace desync::detail {

class json_writer {
public:
    json_writer(const trace_model& m, std::ostream& out) : m_(m), out_(out) {}

    void write();

private:
    void event(const std::string& body);

    static std::string tid(std::size_t lane) { return std::to_string(lane + 1); }

    void lane(std::size_t i);

    void call(const traced_call& c);

    void ran(const traced_call& c);

    // An async slice from the call being made to its start: it waited for its inputs.
    void wait_slice(const traced_call& c);

    std::string where(const traced_call& c, std::int64_t at) const;

    static std::string common_args(const traced_call& c);

    static std::string cache_state(const traced_call& c);

    const trace_model& m_;
    std::ostream& out_;
    bool first_ = true;
};

/// Writes `m` as Chrome Trace Event JSON.
inline void write_trace_json(const trace_model& m, std::ostream& out) {
    json_writer(m, out).write();
}

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/json.ipp>
#endif
