#pragma once
// The Chrome Trace Event format (JSON object form), as ui.perfetto.dev and chrome://tracing
// read it: one process, one thread (lane) per thread that ran calls, named by metadata events;
// a complete event ("X") per call that ran, with a nested "join" slice for the time its join
// waited; memo hits and skipped calls as thread-scoped instant events ("i"); the time a call
// waited for its inputs as an async slice ("b"/"e"). Times are microseconds, ns exact.

#include <desync/detail/trace/model.hpp>
#include <desync/detail/trace/text.hpp>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace desync::detail {

class json_writer {
public:
    json_writer(const trace_model& m, std::ostream& out) : m_(m), out_(out) {}

    void write() {
        out_ << "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"desync\",\"calls\":"
             << m_.calls.size() << ",\"dropped_records\":" << m_.dropped << "},\"traceEvents\":[\n";
        event(R"("ph":"M","pid":1,"name":"process_name","args":{"name":"desync"})");
        for (std::size_t i = 0; i < m_.lanes.size(); ++i) lane(i);
        for (const traced_call& c : m_.calls) call(c);
        out_ << "\n]}\n";
    }

private:
    void event(const std::string& body) {
        out_ << (first_ ? "" : ",\n") << '{' << body << '}';
        first_ = false;
    }

    static std::string tid(std::size_t lane) { return std::to_string(lane + 1); }

    void lane(std::size_t i) {
        const std::string head = "\"ph\":\"M\",\"pid\":1,\"tid\":" + tid(i);
        event(head + ",\"name\":\"thread_name\",\"args\":{\"name\":" + json_quote(m_.lanes[i]) +
              "}");
        event(head + ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" +
              std::to_string(i) + "}");
    }

    void call(const traced_call& c) {
        if (c.outcome == call_outcome::unfinished) return;
        if (!c.inputs.empty() && c.begin_ns > c.made_ns) wait_slice(c);
        if (c.outcome == call_outcome::ran) return ran(c);
        const bool hit = c.outcome == call_outcome::hit;
        event(where(c, c.begin_ns) + ",\"ph\":\"i\",\"s\":\"t\",\"cat\":\"" +
              (hit ? "hit" : "skipped") + "\",\"name\":" +
              json_quote(c.name + (hit ? " (hit)" : " (skipped: failed input)")) + ",\"args\":{" +
              common_args(c) + (hit ? ",\"saved_us\":" + micros(c.saved_ns) : "") + "}");
    }

    void ran(const traced_call& c) {
        event(where(c, c.begin_ns) + ",\"ph\":\"X\",\"cat\":\"call\",\"name\":" +
              json_quote(c.name) + ",\"dur\":" + micros(c.end_ns - c.begin_ns) + ",\"args\":{" +
              common_args(c) + ",\"failed\":" + (c.failed ? "true" : "false") +
              (c.not_recorded ? ",\"not_recorded\":true" : "") +
              ",\"waited_us\":" + micros(c.begin_ns - c.made_ns) +
              ",\"join_us\":" + micros(c.end_ns - c.joining_ns) + "}");
        if (c.end_ns > c.joining_ns)
            event(where(c, c.joining_ns) +
                  ",\"ph\":\"X\",\"cat\":\"join\",\"name\":\"join\",\"dur\":" +
                  micros(c.end_ns - c.joining_ns) + ",\"args\":{\"call\":" + std::to_string(c.id) +
                  "}");
    }

    // An async slice from the call being made to its start: it waited for its inputs.
    void wait_slice(const traced_call& c) {
        const std::string head =
            ",\"cat\":\"wait\",\"name\":\"waiting for inputs\",\"id\":" + std::to_string(c.id);
        event(where(c, c.made_ns) + ",\"ph\":\"b\"" + head + ",\"args\":{\"call\":" +
              std::to_string(c.id) + ",\"function\":" + json_quote(c.name) + "}");
        event(where(c, c.begin_ns) + ",\"ph\":\"e\"" + head);
    }

    std::string where(const traced_call& c, std::int64_t at) const {
        return "\"pid\":1,\"tid\":" + tid(c.lane) + ",\"ts\":" + micros(at);
    }

    static std::string common_args(const traced_call& c) {
        std::string a = "\"call\":" + std::to_string(c.id) +
                        ",\"parent\":" + std::to_string(c.parent) + ",\"cache\":" + cache_state(c) +
                        ",\"made_us\":" + micros(c.made_ns);
        if (c.keyed) a += ",\"key\":\"" + c.key.to_hex() + '"';
        a += ",\"inputs\":[";
        for (std::size_t i = 0; i < c.inputs.size(); ++i) {
            if (i) a += ',';
            a += std::to_string(c.inputs[i]);
        }
        return a + ']';
    }

    static std::string cache_state(const traced_call& c) {
        if (c.outcome == call_outcome::hit) return "\"hit\"";
        if (c.outcome == call_outcome::skipped) return "\"skipped\"";
        return c.keyed ? "\"miss\"" : "\"not memoized\"";
    }

    const trace_model& m_;
    std::ostream& out_;
    bool first_ = true;
};

/// Writes `m` as Chrome Trace Event JSON.
inline void write_trace_json(const trace_model& m, std::ostream& out) {
    json_writer(m, out).write();
}

}  // namespace desync::detail
