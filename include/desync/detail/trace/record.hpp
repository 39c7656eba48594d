#pragma once
// Recording a trace without a shared lock on the hot path: each thread appends fixed-size
// records to a buffer of its own, made of chunks that never move, and publishes each record
// with a release store of the chunk's count; so stop() can read every buffer while its owner
// keeps writing. A trace session is an epoch: a thread registers one buffer per session (the
// only locked step), and records of an older session are never mixed into a newer one.
// Also here: the instrumentation modes, the functions whose counters moved (run totals), and
// the counts of the progress line.

#include <desync/counters.hpp>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/fn_core.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace desync::detail {

/// What instrumentation is on. Any bit turns the hooks' switch on (trace_hooks.hpp); counting
/// happens whenever the hooks run, so tracing and the progress line count too.
enum trace_bit : unsigned { trace_record_bit = 1, trace_count_bit = 2, trace_progress_bit = 4 };

inline std::atomic<unsigned>& trace_mode() noexcept {
    static constinit std::atomic<unsigned> mode{0};
    return mode;
}

/// Nanoseconds on the steady clock.
DESYNC_DECL std::int64_t steady_ns() noexcept;

/// Whether trace timestamps read the x86 time-stamp counter: where Linux itself keeps time
/// with it (it then runs at a constant rate, in step on every core). It costs about a third of
/// a steady_clock read; a trace scales its ticks to the steady clock when it stops. Decided
/// once, before the first trace records; elsewhere ticks are steady-clock nanoseconds.
inline std::atomic<bool>& trace_uses_tsc() noexcept {
    static constinit std::atomic<bool> tsc{false};
    return tsc;
}

DESYNC_DECL void decide_trace_clock() noexcept;

/// A trace timestamp, in ticks (see trace_uses_tsc).
DESYNC_DECL std::int64_t trace_clock() noexcept;

/// Converts ticks of one session to nanoseconds since its start.
struct tick_scale {
    std::int64_t origin = 0;   // ticks at the start
    double ns_per_tick = 1.0;  // measured over the session against the steady clock
    std::int64_t operator()(std::int64_t ticks) const noexcept;
};

/// The thread that ran static initialization: the program's main thread (it names a lane).
inline const std::thread::id main_thread_id = std::this_thread::get_id();

enum class record_kind : std::uint8_t {
    spawn,  // a call was made (on the calling thread)
    ran,    // a call's body and join ran (on the running thread), with their times
    early,  // a call finished without running: a hit after its inputs, or a failed input
    hit,    // a memo hit on the calling thread (no task)
    saved,  // follows `hit`: the time that hit saved
    input   // a call waits for another (dataflow or ordering edge)
};

/// Record flags.
enum record_flag : std::uint8_t {
    flag_blocking = 1,    // spawn/hit: the callee runs on the blocking pool
    flag_failed = 2,      // ran: finished with an error
    flag_hit = 4,         // early: a memo hit (else a failed input)
    flag_keyed = 8,       // ran/early/hit: `key` holds the call's memo key
    flag_compute = 16,    // spawn/hit: the callee runs on the default compute pool
    flag_unrecorded = 32  // ran: memoizable, but its result was not recorded (unverifiable)
};

/// One event, 64 bytes of plain data: written and read without constructors.
struct trace_record {
    record_kind kind;
    std::uint8_t flags;
    std::uint16_t unused;
    std::uint32_t name_size;  // spawn/hit: length of the callee's name
    std::uint64_t id;         // the call
    std::uint64_t other;      // spawn/hit: the parent call; input: the input; saved: nanoseconds
    std::int64_t at;          // ticks: when it was made (spawn/hit), ended early, or began (ran)
    union {
        struct {
            const void* fn;    // the callee's identity (never dereferenced later)
            const char* name;  // its name: static storage (a literal)
        } callee;              // spawn, hit
        struct {
            std::int64_t joining, end;  // ticks
        } times;                        // ran
    } u;
    std::uint64_t key_low, key_high;  // when flag_keyed
};
static_assert(sizeof(trace_record) == 64);

/// A run of records that never moves once allocated. The count is published with release.
struct trace_chunk {
    static constexpr std::size_t capacity = 1023;  // 64 KiB with the header
    std::atomic<std::size_t> count{0};
    std::atomic<trace_chunk*> next{nullptr};
    trace_record records[capacity];
};

/// A call whose body is running on this thread; written as one `ran` record when it ends.
struct open_call {
    std::uint64_t id;
    std::int64_t begin;
    std::int64_t joining;
};

/// One thread's records in one session. Owned jointly by the session and the thread, so that
/// neither the thread's exit nor the end of the session frees it under the other.
class trace_buffer {
public:
    trace_buffer(std::uint64_t epoch, std::uint32_t index);
    trace_buffer(const trace_buffer&) = delete;
    trace_buffer& operator=(const trace_buffer&) = delete;
    ~trace_buffer();

    std::uint64_t epoch() const noexcept { return epoch_; }
    std::uint32_t index() const noexcept { return index_; }
    const void* pool() const noexcept { return pool_; }  // the desync pool of this thread
    bool main_thread() const noexcept { return main_; }
    const trace_chunk* head() const noexcept { return head_; }
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

    /// Owner only: a call id unique across threads and sessions, never 0.
    std::uint64_t new_id() noexcept { return ++next_id_; }

    /// Owner only: appends a record and publishes it.
    void append(const trace_record& r) noexcept;

    /// Owner only: the calls running on this thread, innermost last.
    std::vector<open_call>& open() noexcept { return open_; }
    void lose() noexcept { dropped_.fetch_add(1, std::memory_order_relaxed); }

private:
    std::uint64_t epoch_;
    std::uint32_t index_;
    std::uint64_t next_id_;
    const void* pool_;
    bool main_;
    trace_chunk* head_;
    trace_chunk* tail_;
    std::vector<open_call> open_;
    std::atomic<std::uint64_t> dropped_{0};
};

/// The buffers of the running session. Never destroyed: threads may record during exit.
class trace_session {
public:
    static trace_session& get() noexcept;

    std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_relaxed); }

    /// Opens a session: older buffers are dropped (their owners may still hold them).
    void open();

    /// What close() hands over.
    struct closed {
        std::vector<std::shared_ptr<trace_buffer>> buffers;
        tick_scale scale;
        std::int64_t duration_ns;
    };

    /// Closes the session and hands over its buffers; later records go to a new epoch.
    closed close();

    /// This thread's buffer for the current session, registering one if needed.
    trace_buffer* here() noexcept;

private:
    trace_session() = default;

    static std::shared_ptr<trace_buffer>& mine() noexcept;

    trace_buffer* enlist() noexcept;

    std::mutex m_;
    std::atomic<std::uint64_t> epoch_{1};
    std::int64_t origin_ticks_ = 0, origin_ns_ = 0;
    std::vector<std::shared_ptr<trace_buffer>> buffers_;
};

/// The functions whose counters moved since the last reset: the run totals are their sum.
/// A function counted here is kept alive until reset (its counters must stay readable).
class counted_functions {
public:
    static counted_functions& get() noexcept;

    void add(const fn_core& core) noexcept;

    call_counters totals();

    void reset() noexcept;

private:
    counted_functions() = default;
    std::mutex m_;
    std::vector<fn_core*> cores_;
    std::unordered_set<const fn_core*> seen_;
};

/// Counts one call of `core` (the first one since a reset enlists the function).
DESYNC_DECL void count_call(const fn_core& core) noexcept;

/// The progress line's counts (only kept while it is on).
struct progress_counts {
    std::atomic<std::uint64_t> started{0};
    std::atomic<std::uint64_t> finished{0};
    std::atomic<std::uint64_t> hits{0};

    static progress_counts& get() noexcept {
        static constinit progress_counts p;
        return p;
    }
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/record.ipp>
#endif
