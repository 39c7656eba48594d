#pragma once
// Out-of-line definitions of <desync/detail/trace/json.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/trace/json.hpp>

#include <desync/detail/trace/text.hpp>

#include <string_view>

namespace desync::detail {

DESYNC_DECL void json_writer::write() {
    out_ << "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"desync\",\"calls\":"
         << m_.calls.size() << ",\"dropped_records\":" << m_.dropped << "},\"traceEvents\":[\n";
    event(R"("ph":"M","pid":1,"name":"process_name","args":{"name":"desync"})");
    for (std::size_t i = 0; i < m_.lanes.size(); ++i) lane(i);
    for (const traced_call& c : m_.calls) call(c);
    out_ << "\n]}\n";
}

DESYNC_DECL void json_writer::event(const std::string& body) {
    out_ << (first_ ? "" : ",\n") << '{' << body << '}';
    first_ = false;
}

DESYNC_DECL void json_writer::lane(std::size_t i) {
    const std::string head = "\"ph\":\"M\",\"pid\":1,\"tid\":" + tid(i);
    event(head + ",\"name\":\"thread_name\",\"args\":{\"name\":" + json_quote(m_.lanes[i]) + "}");
    event(head + ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" + std::to_string(i) +
          "}");
}

DESYNC_DECL void json_writer::call(const traced_call& c) {
    if (c.outcome == call_outcome::unfinished) return;
    if (!c.inputs.empty() && c.begin_ns > c.made_ns) wait_slice(c);
    if (c.outcome == call_outcome::ran) return ran(c);
    const bool hit = c.outcome == call_outcome::hit;
    event(
        where(c, c.begin_ns) + ",\"ph\":\"i\",\"s\":\"t\",\"cat\":\"" + (hit ? "hit" : "skipped") +
        "\",\"name\":" + json_quote(c.name + (hit ? " (hit)" : " (skipped: failed input)")) +
        ",\"args\":{" + common_args(c) + (hit ? ",\"saved_us\":" + micros(c.saved_ns) : "") + "}");
}

DESYNC_DECL void json_writer::ran(const traced_call& c) {
    event(where(c, c.begin_ns) + ",\"ph\":\"X\",\"cat\":\"call\",\"name\":" + json_quote(c.name) +
          ",\"dur\":" + micros(c.end_ns - c.begin_ns) + ",\"args\":{" + common_args(c) +
          ",\"failed\":" + (c.failed ? "true" : "false") +
          (c.not_recorded ? ",\"not_recorded\":true" : "") + ",\"waited_us\":" +
          micros(c.begin_ns - c.made_ns) + ",\"join_us\":" + micros(c.end_ns - c.joining_ns) + "}");
    if (c.end_ns > c.joining_ns)
        event(where(c, c.joining_ns) + ",\"ph\":\"X\",\"cat\":\"join\",\"name\":\"join\",\"dur\":" +
              micros(c.end_ns - c.joining_ns) + ",\"args\":{\"call\":" + std::to_string(c.id) +
              "}");
}

DESYNC_DECL void json_writer::wait_slice(const traced_call& c) {
    const std::string head =
        ",\"cat\":\"wait\",\"name\":\"waiting for inputs\",\"id\":" + std::to_string(c.id);
    event(where(c, c.made_ns) + ",\"ph\":\"b\"" + head + ",\"args\":{\"call\":" +
          std::to_string(c.id) + ",\"function\":" + json_quote(c.name) + "}");
    event(where(c, c.begin_ns) + ",\"ph\":\"e\"" + head);
}

DESYNC_DECL std::string json_writer::where(const traced_call& c, std::int64_t at) const {
    return "\"pid\":1,\"tid\":" + tid(c.lane) + ",\"ts\":" + micros(at);
}

DESYNC_DECL std::string json_writer::common_args(const traced_call& c) {
    std::string a = "\"call\":" + std::to_string(c.id) + ",\"parent\":" + std::to_string(c.parent) +
                    ",\"cache\":" + cache_state(c) + ",\"made_us\":" + micros(c.made_ns);
    if (c.keyed) a += ",\"key\":\"" + c.key.to_hex() + '"';
    a += ",\"inputs\":[";
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
        if (i) a += ',';
        a += std::to_string(c.inputs[i]);
    }
    return a + ']';
}

DESYNC_DECL std::string json_writer::cache_state(const traced_call& c) {
    if (c.outcome == call_outcome::hit) return "\"hit\"";
    if (c.outcome == call_outcome::skipped) return "\"skipped\"";
    return c.keyed ? "\"miss\"" : "\"not memoized\"";
}

}  // namespace desync::detail
