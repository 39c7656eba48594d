#pragma once
// Out-of-line definitions of <desync/detail/trace/record.hpp>: included at its end when
// header-only, or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION,
// docs/compile-time.md).

#include <desync/detail/trace/record.hpp>

#include <desync/detail/core/run.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <new>
#include <string_view>
#include <utility>

namespace desync::detail {

DESYNC_DECL std::int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

DESYNC_DECL void decide_trace_clock() noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)
    static const bool tsc = [] {
        std::FILE* f =
            std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
        if (!f) return false;
        char name[16] = {};
        const bool read = std::fgets(name, sizeof name, f) != nullptr;
        std::fclose(f);
        return read && std::string_view(name).substr(0, 4) == "tsc\n";
    }();
    trace_uses_tsc().store(tsc, std::memory_order_relaxed);
#endif
}

DESYNC_DECL std::int64_t trace_clock() noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (trace_uses_tsc().load(std::memory_order_relaxed))
        return static_cast<std::int64_t>(__builtin_ia32_rdtsc());
#endif
    return steady_ns();
}

DESYNC_DECL std::int64_t tick_scale::operator()(std::int64_t ticks) const noexcept {
    return std::max<std::int64_t>(std::llround(static_cast<double>(ticks - origin) * ns_per_tick),
                                  0);
}

DESYNC_DECL trace_buffer::trace_buffer(std::uint64_t epoch, std::uint32_t index)
    : epoch_(epoch),
      index_(index),
      next_id_((epoch & 0xFFFF) << 48 | std::uint64_t{index & 0xFFFF} << 32),
      pool_(tl_frame.pool),
      main_(std::this_thread::get_id() == main_thread_id),
      head_(new trace_chunk),
      tail_(head_) {}

DESYNC_DECL trace_buffer::~trace_buffer() {
    for (trace_chunk* c = head_; c;) delete std::exchange(c, c->next.load());
}

DESYNC_DECL void trace_buffer::append(const trace_record& r) noexcept {
    std::size_t n = tail_->count.load(std::memory_order_relaxed);
    if (n == trace_chunk::capacity) {
        auto* fresh = new (std::nothrow) trace_chunk;
        if (!fresh) return lose();
        tail_->next.store(fresh, std::memory_order_release);
        tail_ = fresh;
        n = 0;
    }
    tail_->records[n] = r;
    tail_->count.store(n + 1, std::memory_order_release);
}

DESYNC_DECL trace_session& trace_session::get() noexcept {
    static trace_session* s = new trace_session;
    return *s;
}

DESYNC_DECL void trace_session::open() {
    decide_trace_clock();
    std::lock_guard lock(m_);
    buffers_.clear();
    epoch_.fetch_add(1, std::memory_order_relaxed);
    origin_ticks_ = trace_clock();
    origin_ns_ = steady_ns();
}

DESYNC_DECL trace_session::closed trace_session::close() {
    std::lock_guard lock(m_);
    epoch_.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t ticks = trace_clock() - origin_ticks_, ns = steady_ns() - origin_ns_;
    const bool tsc = trace_uses_tsc().load(std::memory_order_relaxed);
    const double per_tick =
        tsc && ticks > 0 ? static_cast<double>(ns) / static_cast<double>(ticks) : 1.0;
    return {std::exchange(buffers_, {}), tick_scale{origin_ticks_, per_tick}, ns};
}

DESYNC_DECL trace_buffer* trace_session::here() noexcept {
    trace_buffer* b = mine().get();
    if (b && b->epoch() == epoch()) return b;
    return enlist();
}

DESYNC_DECL std::shared_ptr<trace_buffer>& trace_session::mine() noexcept {
    thread_local std::shared_ptr<trace_buffer> buffer;
    return buffer;
}

DESYNC_DECL trace_buffer* trace_session::enlist() noexcept {
    std::lock_guard lock(m_);
    if (!(trace_mode().load(std::memory_order_relaxed) & trace_record_bit)) return nullptr;
    try {
        auto b =
            std::make_shared<trace_buffer>(epoch(), static_cast<std::uint32_t>(buffers_.size()));
        buffers_.push_back(b);
        mine() = std::move(b);
        return mine().get();
    } catch (...) {  // out of memory: this thread records nothing in this session
        return nullptr;
    }
}

DESYNC_DECL counted_functions& counted_functions::get() noexcept {
    static counted_functions* c = new counted_functions;  // never destroyed, like its cores
    return *c;
}

DESYNC_DECL void counted_functions::add(const fn_core& core) noexcept {
    std::lock_guard lock(m_);
    try {
        if (!seen_.insert(&core).second) return;
        cores_.push_back(const_cast<fn_core*>(&core));  // retain() is logically const
    } catch (...) {
        seen_.erase(&core);
        return;  // out of memory: the totals miss this function
    }
    cores_.back()->retain();
}

DESYNC_DECL call_counters counted_functions::totals() {
    std::lock_guard lock(m_);
    call_counters sum;
    for (fn_core* c : cores_) sum += read_counters(c->counters);
    return sum;
}

DESYNC_DECL void counted_functions::reset() noexcept {
    std::lock_guard lock(m_);
    for (fn_core* c : cores_) {
        zero_counters(c->counters);
        c->release();
    }
    cores_.clear();
    seen_.clear();
}

DESYNC_DECL void count_call(const fn_core& core) noexcept {
    auto& calls = const_cast<fn_core&>(core).counters.calls;
    if (calls.fetch_add(1, std::memory_order_relaxed) == 0) counted_functions::get().add(core);
}

}  // namespace desync::detail
