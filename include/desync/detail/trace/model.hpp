#pragma once
// What a trace holds once its records are merged: the calls (in the order they were made,
// numbered from 1) and the lanes (threads) they ran on. The public types live here so that
// the writers can use them; users include <desync/trace.hpp>.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/trace/record.hpp>
#include <desync/xxhash.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace desync {

/// How a traced call ended.
enum class call_outcome {
    ran,        ///< its body ran (a memo miss, or a call that is not memoized)
    hit,        ///< skipped: the memo table held its result
    skipped,    ///< never ran: an input failed
    unfinished  ///< still running (or waiting) when the trace stopped
};

/// One call in a trace. Times are nanoseconds since the trace started; -1 when unknown.
struct traced_call {
    std::uint64_t id = 0;      ///< 1, 2, ... in the order the calls were made
    std::uint64_t parent = 0;  ///< the call whose body made it; 0 for a root call
    std::string name;          ///< the function's name; "(unnamed)" for desync::desync objects
    std::size_t function = 0;  ///< 1, 2, ... one number per distinct function
    call_outcome outcome = call_outcome::unfinished;  ///< ran, hit, skipped or unfinished
    bool failed = false;                              ///< finished with an error
    /// Ran, memoizable, but its result was not recorded: its run called a desync function
    /// without a version, or its key could not see what an argument means (see docs/limits.md).
    bool not_recorded = false;
    bool keyed = false;                 ///< `key` holds its memo key (version + arguments' hash)
    hash128 key{};                      ///< the memo key, when `keyed`
    std::size_t lane = 0;               ///< index in trace_log::lanes(): where it ran or was found
                                        ///< (meaningless while unfinished)
    std::int64_t made_ns = -1;          ///< when the call was made
    std::int64_t begin_ns = -1;         ///< when its body started (a hit: when it was found)
    std::int64_t joining_ns = -1;       ///< when its body returned and its join started
    std::int64_t end_ns = -1;           ///< when it finished
    std::int64_t saved_ns = 0;          ///< a hit: the recorded run time of the original call
    std::vector<std::uint64_t> inputs;  ///< calls it waited for (data and ordering edges)
};

namespace detail {

struct trace_model {
    std::vector<traced_call> calls;
    std::vector<std::string> lanes;
    std::int64_t duration_ns = 0;
    std::uint64_t dropped = 0;  // records lost for lack of memory
};

/// Merges the records of one session's buffers into a model. Buffers may still be written
/// to: only what was published when this started is read.
class trace_merger {
public:
    explicit trace_merger(trace_session::closed session);

    trace_model merge();

private:
    struct span {
        const trace_chunk* chunk;
        std::size_t count;
        std::size_t buffer;
    };
    struct raw {
        std::uint64_t parent = 0;
        const void* fn = nullptr;
        std::uint8_t pool = 0;  // flag_compute, flag_blocking or 0
        std::vector<std::uint64_t> inputs;
    };

    void snapshot();

    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const span& s : spans_)
            for (std::size_t k = 0; k < s.count; ++k) fn(s.chunk->records[k], s.buffer);
    }

    void add_call(const trace_record& r, std::size_t buffer);

    void add_event(const trace_record& r, std::size_t buffer);

    static void take_key(traced_call& c, const trace_record& r);

    // Dense ids in the order calls were made; parents and inputs follow.
    void number_calls();

    // Lanes are the threads that ran a call or found a hit, named by their pool (known from the
    // calls they ran: a pool's thread runs only its own pool's calls): the main thread, the
    // compute pool, the blocking pool, other desync pools, other threads (Asio executors).
    void name_lanes();

    std::pair<int, std::size_t> rank(std::size_t b) const;

    std::string group_of(std::size_t b, std::map<const void*, std::size_t>& pools) const;

    std::vector<std::shared_ptr<trace_buffer>> buffers_;
    tick_scale since_;
    std::int64_t duration_;
    std::vector<span> spans_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
    std::vector<raw> raws_;
    std::set<std::size_t> used_, compute_, blocking_;  // buffers
    trace_model model_;
};

}  // namespace detail
}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/model.ipp>
#endif
