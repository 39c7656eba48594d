#pragma once
// Out-of-line definitions of <desync/detail/trace/model.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/trace/model.hpp>

#include <algorithm>

namespace desync::detail {

DESYNC_DECL trace_merger::trace_merger(trace_session::closed session)
    : buffers_(std::move(session.buffers)), since_(session.scale), duration_(session.duration_ns) {
    snapshot();
}

DESYNC_DECL trace_model trace_merger::merge() {
    for_each([&](const trace_record& r, std::size_t lane) { add_call(r, lane); });
    for_each([&](const trace_record& r, std::size_t lane) { add_event(r, lane); });
    number_calls();
    name_lanes();
    model_.duration_ns = duration_;
    for (const auto& c : model_.calls) model_.duration_ns = std::max(model_.duration_ns, c.end_ns);
    for (const auto& b : buffers_) model_.dropped += b->dropped();
    return std::move(model_);
}

DESYNC_DECL void trace_merger::snapshot() {
    for (std::size_t i = 0; i < buffers_.size(); ++i)
        for (auto* c = buffers_[i]->head(); c; c = c->next.load(std::memory_order_acquire))
            spans_.push_back({c, c->count.load(std::memory_order_acquire), i});
}

DESYNC_DECL void trace_merger::add_call(const trace_record& r, std::size_t buffer) {
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

DESYNC_DECL void trace_merger::add_event(const trace_record& r, std::size_t buffer) {
    auto it = index_.find(r.id);
    if (it == index_.end()) return;  // a call made before this session
    traced_call& c = model_.calls[it->second];
    if (r.kind == record_kind::input) return raws_[it->second].inputs.push_back(r.other);
    if (r.kind == record_kind::saved) return void(c.saved_ns = static_cast<std::int64_t>(r.other));
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

DESYNC_DECL void trace_merger::take_key(traced_call& c, const trace_record& r) {
    if (!(r.flags & flag_keyed)) return;
    c.keyed = true;
    c.key = hash128{r.key_low, r.key_high};
}

DESYNC_DECL void trace_merger::number_calls() {
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
        if (c.outcome == call_outcome::ran && (w.pool & flag_blocking)) blocking_.insert(c.lane);
        sorted.push_back(std::move(c));
    }
    calls = std::move(sorted);
}

DESYNC_DECL void trace_merger::name_lanes() {
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

DESYNC_DECL std::pair<int, std::size_t> trace_merger::rank(std::size_t b) const {
    const trace_buffer& buf = *buffers_[b];
    if (buf.main_thread()) return {0, 0};
    if (!buf.pool()) return {4, b};
    return {compute_.count(b) ? 1 : blocking_.count(b) ? 2 : 3, b};
}

DESYNC_DECL std::string trace_merger::group_of(std::size_t b,
                                               std::map<const void*, std::size_t>& pools) const {
    const trace_buffer& buf = *buffers_[b];
    if (buf.main_thread()) return "main";
    if (!buf.pool()) return "thread";
    if (compute_.count(b)) return "compute";
    if (blocking_.count(b)) return "blocking";
    return "pool " + std::to_string(pools.emplace(buf.pool(), pools.size() + 1).first->second) +
           " thread";
}

}  // namespace desync::detail
