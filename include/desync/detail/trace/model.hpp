#pragma once
// What a trace holds once its records are merged: the calls (in the order they were made,
// numbered from 1) and the lanes (threads) they ran on. The public types live here so that
// the writers can use them; users include <desync/trace.hpp>.

#include <desync/detail/trace/record.hpp>
#include <desync/xxhash.hpp>

#include <algorithm>
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
    explicit trace_merger(trace_session::closed session)
        : buffers_(std::move(session.buffers)),
          since_(session.scale),
          duration_(session.duration_ns) {
        snapshot();
    }

    trace_model merge() {
        for_each([&](const trace_record& r, std::size_t lane) { add_call(r, lane); });
        for_each([&](const trace_record& r, std::size_t lane) { add_event(r, lane); });
        number_calls();
        name_lanes();
        model_.duration_ns = duration_;
        for (const auto& c : model_.calls)
            model_.duration_ns = std::max(model_.duration_ns, c.end_ns);
        for (const auto& b : buffers_) model_.dropped += b->dropped();
        return std::move(model_);
    }

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

    void snapshot() {
        for (std::size_t i = 0; i < buffers_.size(); ++i)
            for (auto* c = buffers_[i]->head(); c; c = c->next.load(std::memory_order_acquire))
                spans_.push_back({c, c->count.load(std::memory_order_acquire), i});
    }

    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const span& s : spans_)
            for (std::size_t k = 0; k < s.count; ++k) fn(s.chunk->records[k], s.buffer);
    }

    void add_call(const trace_record& r, std::size_t buffer) {
        if (r.kind != record_kind::spawn && r.kind != record_kind::hit) return;
        index_.emplace(r.id, model_.calls.size());
        traced_call c;
        c.id = r.id;
        c.name = r.name_size ? std::string(r.u.callee.name, r.name_size) : std::string();
        c.made_ns = since_(r.at);
        const auto pool = static_cast<std::uint8_t>(r.flags & (flag_compute | flag_blocking));
        raws_.push_back(raw{r.other, r.u.callee.fn, pool, {}});
        if (r.kind == record_kind::hit) {
            c.outcome = call_outcome::hit;
            c.begin_ns = c.end_ns = c.made_ns;
            c.lane = buffer;
            used_.insert(buffer);
            take_key(c, r);
        }
        model_.calls.push_back(std::move(c));
    }

    void add_event(const trace_record& r, std::size_t buffer) {
        auto it = index_.find(r.id);
        if (it == index_.end()) return;  // a call made before this session
        traced_call& c = model_.calls[it->second];
        if (r.kind == record_kind::input) return raws_[it->second].inputs.push_back(r.other);
        if (r.kind == record_kind::saved)
            return void(c.saved_ns = static_cast<std::int64_t>(r.other));
        if (r.kind == record_kind::ran) {
            c.outcome = call_outcome::ran;
            c.failed = (r.flags & flag_failed) != 0;
            c.not_recorded = (r.flags & flag_unrecorded) != 0;
            c.begin_ns = since_(r.at), c.joining_ns = since_(r.u.times.joining);
            c.end_ns = since_(r.u.times.end);
        } else if (r.kind == record_kind::early) {
            const bool hit = (r.flags & flag_hit) != 0;
            c.outcome = hit ? call_outcome::hit : call_outcome::skipped;
            c.failed = !hit;
            c.begin_ns = c.end_ns = since_(r.at);
        } else {
            return;
        }
        c.lane = buffer;
        used_.insert(buffer);
        take_key(c, r);
    }

    static void take_key(traced_call& c, const trace_record& r) {
        if (!(r.flags & flag_keyed)) return;
        c.keyed = true;
        c.key = hash128{r.key_low, r.key_high};
    }

    // Dense ids in the order calls were made; parents and inputs follow.
    void number_calls() {
        std::vector<std::size_t> order(model_.calls.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        auto& calls = model_.calls;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return calls[a].made_ns < calls[b].made_ns;
        });
        std::unordered_map<std::uint64_t, std::uint64_t> dense;
        for (std::size_t k = 0; k < order.size(); ++k) dense[calls[order[k]].id] = k + 1;
        auto renumber = [&](std::uint64_t raw_id) {
            auto it = dense.find(raw_id);
            return it == dense.end() ? 0 : it->second;
        };
        std::vector<traced_call> sorted;
        sorted.reserve(order.size());
        std::map<const void*, std::size_t> functions;
        for (std::size_t i : order) {
            traced_call c = std::move(calls[i]);
            const raw& w = raws_[i];
            c.id = dense[c.id];
            c.parent = renumber(w.parent);
            for (std::uint64_t in : w.inputs)
                if (std::uint64_t d = renumber(in)) c.inputs.push_back(d);
            c.function = functions.emplace(w.fn, functions.size() + 1).first->second;
            if (c.name.empty()) c.name = "(unnamed)";
            if (c.outcome == call_outcome::ran && (w.pool & flag_compute)) compute_.insert(c.lane);
            if (c.outcome == call_outcome::ran && (w.pool & flag_blocking))
                blocking_.insert(c.lane);
            sorted.push_back(std::move(c));
        }
        calls = std::move(sorted);
    }

    // Lanes are the threads that ran a call or found a hit, named by their pool (known from the
    // calls they ran: a pool's thread runs only its own pool's calls): the main thread, the
    // compute pool, the blocking pool, other desync pools, other threads (Asio executors).
    void name_lanes() {
        std::vector<std::size_t> lanes(used_.begin(), used_.end());
        std::stable_sort(lanes.begin(), lanes.end(),
                         [&](std::size_t a, std::size_t b) { return rank(a) < rank(b); });
        std::map<std::size_t, std::size_t> lane_of;
        std::map<std::string, std::size_t> per_group;
        std::map<const void*, std::size_t> pools;
        for (std::size_t b : lanes) {
            lane_of[b] = model_.lanes.size();
            std::string group = group_of(b, pools);
            std::size_t n = ++per_group[group];
            model_.lanes.push_back(group == "main" ? group : group + " " + std::to_string(n));
        }
        for (auto& c : model_.calls)
            if (c.outcome != call_outcome::unfinished) c.lane = lane_of[c.lane];
    }

    std::pair<int, std::size_t> rank(std::size_t b) const {
        const trace_buffer& buf = *buffers_[b];
        if (buf.main_thread()) return {0, 0};
        if (!buf.pool()) return {4, b};
        return {compute_.count(b) ? 1 : blocking_.count(b) ? 2 : 3, b};
    }

    std::string group_of(std::size_t b, std::map<const void*, std::size_t>& pools) const {
        const trace_buffer& buf = *buffers_[b];
        if (buf.main_thread()) return "main";
        if (!buf.pool()) return "thread";
        if (compute_.count(b)) return "compute";
        if (blocking_.count(b)) return "blocking";
        return "pool " + std::to_string(pools.emplace(buf.pool(), pools.size() + 1).first->second) +
               " thread";
    }

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
