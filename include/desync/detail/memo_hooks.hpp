#pragma once
// Where the memo table meets a call (DESIGN §4): probe on the calling thread when the arguments
// are values, or once a call's dataflow inputs are ready; take the key and the start time
// when a body starts; record the result when it succeeded. Calls go into the tables of their
// tree's root function; root calls themselves are never memoized.

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <desync/detail/attributes.hpp>
#include <desync/detail/fn_core.hpp>
#include <desync/detail/memo_deps.hpp>
#include <desync/detail/memo_key.hpp>
#include <desync/detail/memo_table.hpp>
#include <desync/detail/memo_value.hpp>
#include <desync/detail/registry.hpp>
#include <desync/detail/run.hpp>
#include <desync/detail/task.hpp>
#include <desync/detail/trace_hooks.hpp>
#include <desync/detail/traits.hpp>
#include <exception>
#include <new>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace desync::detail {

/// The value a stored argument contributes to the key: an input's value, or itself.
template <class S>
struct key_of {
    using type = S;
};
template <class T>
struct key_of<input<T>> {
    using type = T;
};
template <class S>
using key_of_t = typename key_of<S>::type;

template <class S>
const key_of_t<S>& key_value(const S& s) noexcept {
    if constexpr (is_input_v<S>)
        return s.task->value();
    else
        return s;
}

/// Whether a stored argument has its value yet: a dataflow input only once its call succeeded.
template <class S>
bool key_ready(const S& s) noexcept {
    if constexpr (is_input_v<S>)
        return s.task->done() && !s.task->failed();
    else
        return true;
}

template <class V, class... S>
inline constexpr bool memo_call_v = memo_eligible_v<V, key_of_t<S>...> &&
                                    (!std::is_void_v<key_of_t<S>> && ...);

/// Gives `to` a copy of the finished `from`'s value or error. False if copying threw.
template <class V>
bool take_result(result_task<V>& to, result_task<V>& from) noexcept {
    to.set_deps(from.deps());  // its result is what that call's run made
    if (from.failed()) {
        to.set_error(from.error());
        return true;
    }
    try {
        if constexpr (std::is_void_v<V>)
            to.emplace();
        else
            to.emplace(from.value());
        return true;
    } catch (...) {
        to.set_error(std::current_exception());
        return false;
    }
}

/// share_results: a call that takes the result of an identical call in flight instead of
/// running. It reports an error in its own caller's scope, as the call it shares does in its
/// own: each of the two calls reports once.
template <class V>
class shared_call final : public result_task<V>, public continuation {
  public:
    explicit shared_call(task_ref<result_task<V>> source)
        : result_task<V>(task_state::pending), source_(std::move(source)) {}

    /// Finishes when the source does (at once if it already has).
    void follow() noexcept {
        this->retain();  // for the continuation
        if (!source_->add_continuation(this)) fire();
    }
    void fire() noexcept override {
        task_ref<> self(this);  // the continuation's reference
        take_result(*this, *source_);
        this->complete();
    }
    void execute() noexcept override {}
    // A waiter helps the source along (claims it if it is queued): no thread sleeps on it.
    task_base* unfinished_input() noexcept override {
        return source_->done() ? nullptr : source_.get();
    }

  private:
    task_ref<result_task<V>> source_;
};

/// Finishes a call whose inputs became ready from the identical call in flight.
template <class V, class Task>
class finish_from final : public continuation {
  public:
    finish_from(Task& t, task_ref<result_task<V>> source)
        : task_(task_ref<Task>::share(&t)), source_(std::move(source)) {}
    void fire() noexcept override {
        take_result(*task_, *source_);
        task_->complete();
        delete this;
    }

  private:
    task_ref<Task> task_;
    task_ref<result_task<V>> source_;
};

/// What a hit takes out of the table, under its lock: a copy of a small trivially copyable
/// value (so that a hit touches no reference count), or else a reference to the shared value.
template <class V>
class taken_value {
  public:
    static constexpr bool copied = std::is_trivially_copyable_v<V> && sizeof(V) <= 64;
    /// Whether the table may keep a copy of the value in a quick cell (memo_quick.hpp).
    static constexpr bool quick = quick_value_v<V>;

    void operator()(const value_ptr& v) {
        if constexpr (copied)
            held_.emplace(static_cast<const typed_value<V>&>(*v).value);
        else
            held_ = v;
    }
    /// The bytes of a quick value, for its cell.
    static quick_bytes bytes_of(const memo_value& v) noexcept
        requires quick
    {
        quick_bytes b = 0;
        std::memcpy(&b, &static_cast<const typed_value<V>&>(v).value, sizeof(V));
        return b;
    }
    /// Takes a quick value from the bytes of its cell.
    void operator()(const quick_bytes& b) noexcept
        requires quick
    {
        alignas(V) unsigned char object[sizeof(V)];
        std::memcpy(object, &b, sizeof(V));  // makes a V: it is trivially copyable
        held_.emplace(*std::launder(reinterpret_cast<const V*>(object)));
    }
    /// The value taken by a hit.
    const V& get() const noexcept {
        if constexpr (copied)
            return *held_;
        else
            return static_cast<const typed_value<V>&>(*held_).value;
    }

  private:
    std::conditional_t<copied, std::optional<V>, value_ptr> held_;
};

template <>
class taken_value<void> {
  public:
    static constexpr bool quick = true;
    void operator()(const value_ptr&) noexcept {}
    static quick_bytes bytes_of(const memo_value&) noexcept { return 0; }
    void operator()(const quick_bytes&) noexcept {}
};

/// A lazy that already holds a copy of the value a hit took.
template <class V>
DESYNC_DETAIL_ALWAYS_INLINE lazy<V> ready_lazy(const taken_value<V>& v) {
    using ready = ready_task<V>;
    if constexpr (std::is_void_v<V>)
        return access::make<V>(task_ref<result_task<V>>(new ready(typename ready::value_tag{})));
    else
        return access::make<V>(
            task_ref<result_task<V>>(new ready(typename ready::value_tag{}, v.get())));
}

template <class V>
value_ptr make_value(result_task<V>& t, std::uint64_t callee, std::uint64_t took_ns,
                     std::vector<hash128> children, const dep_set* deps) {
    std::shared_ptr<typed_value<V>> v;
    if constexpr (std::is_void_v<V>)
        v = std::make_shared<typed_value<void>>(took_ns);
    else
        v = std::make_shared<typed_value<V>>(took_ns, size_estimate(t.value()), t.value());
    v->children = std::move(children);
    v->deps = deps;
    v->callee = callee;
    return v;
}

/// What the body of a call under a memoizable call made, collected on the thread that runs the
/// body: the memoized calls' keys (the children of a memoizable call's recorded result) and the
/// desync functions called (memo_deps.hpp).
struct memo_frame {
    explicit memo_frame(task_ref<> t) noexcept : task(std::move(t)) {}

    task_ref<> task;
    dep_builder deps;
    std::vector<hash128> children;
    // Calls made with dataflow inputs (on_spawned): keyed, if at all, by the time the body joins.
    std::vector<std::pair<task_ref<>, const hash128* (*)(task_base&)>> pending;

    /// Notes a call's key. A body that makes many calls with few keys (a loop of hits) keeps
    /// each key once as it goes, rather than sorting them all when it returns.
    DESYNC_DETAIL_ALWAYS_INLINE void add_child(const hash128& key) {
        if (index_.empty()) {
            children.push_back(key);
            if (children.size() == indexed_from) start_index();
            return;
        }
        std::size_t const mask = index_.size() - 1;
        std::size_t i = key.low & mask;
        for (; index_[i] != 0; i = (i + 1) & mask)
            if (children[index_[i] - 1] == key) return;
        children.push_back(key);
        if (2 * children.size() > index_.size()) return start_index();
        index_[i] = static_cast<std::uint32_t>(children.size());  // the empty slot found
    }

  private:
    static constexpr std::size_t indexed_from = 64;  // fewer keys are sorted once, at the end

    // index_: open addressing over `children`, at most half full; a slot holds a key's
    // position + 1 (0: empty). Made (again, twice as large) from the keys kept so far, which
    // are unique once the first index has been made.
    DESYNC_DETAIL_NOINLINE void start_index() {
        if (index_.empty()) {
            std::sort(children.begin(), children.end());
            children.erase(std::unique(children.begin(), children.end()), children.end());
        }
        index_.assign(std::bit_ceil(4 * children.size()), 0);
        for (std::size_t i = 0; i < children.size(); ++i) insert(children[i], i + 1);
    }
    void insert(const hash128& key, std::size_t position) noexcept {
        std::size_t const mask = index_.size() - 1;
        std::size_t i = key.low & mask;
        while (index_[i] != 0) i = (i + 1) & mask;
        index_[i] = static_cast<std::uint32_t>(position);
    }
    std::vector<std::uint32_t> index_;
};

/// One frame per body under a memoizable call running on this thread: a body waiting for a call
/// may run it here, nested.
inline std::vector<memo_frame>& memo_frames() {
    // Frames hold tasks; freed after the thread's task cache, they go to the heap.
    thread_local std::vector<memo_frame> frames;
    return frames;
}

/// Drops the frames that bodies which failed left on top of this thread's frames.
inline std::vector<memo_frame>& live_frames() {
    auto& frames = memo_frames();
    while (!frames.empty() && frames.back().task->done()) frames.pop_back();
    return frames;
}

/// The frame of the body running on this thread, if it is a memoizable call's. Most calls are
/// made by bodies that keep none, and learn so from the trivial thread-local frame.
DESYNC_DETAIL_ALWAYS_INLINE memo_frame* current_frame() {
    if (!tl_frame.memo_frame) return nullptr;
    auto& frames = live_frames();
    if (frames.empty() || frames.back().task.get() != tl_frame.task) return nullptr;
    return &frames.back();
}

/// What the body of `t` made, once its join is over.
struct frame_result {
    std::vector<hash128> children;                // memoized calls' keys, each once
    const dep_set* deps = unverifiable_deps();  // what it called; unverifiable if not collected
};

/// Removes the frame of `t` and returns what it collected (without a frame, for want of memory
/// when the body started, nothing is known of its run: unverifiable).
inline frame_result take_frame(const task_base& t) noexcept {
    memo_frame* f = current_frame();
    if (!f || f->task.get() != &t) return {};
    frame_result out;
    try {
        out.deps = f->deps.finish();
        out.children = std::move(f->children);
        for (auto& [child, key_of] : f->pending)
            if (const hash128* k = key_of(*child)) out.children.push_back(*k);
        std::sort(out.children.begin(), out.children.end());
        out.children.erase(std::unique(out.children.begin(), out.children.end()),
                           out.children.end());
    } catch (...) {  // out of memory: the run cannot be verified, so it is not recorded
        out = {};
    }
    memo_frames().pop_back();
    tl_frame.memo_frame = false;
    return out;
}

template <class Task>
const hash128* key_if_keyed(task_base& t) noexcept {
    auto& call = static_cast<Task&>(t);
    return call.memo.keyed ? &call.memo.key : nullptr;
}

/// The callee's full hash the first time: resolved through the registry.
DESYNC_DETAIL_COLD inline std::uint64_t resolve_callee_hash(fn_core& f) { return full_hash(f); }

/// The callee's full hash: resolved once, then read without the registry.
inline std::uint64_t callee_hash(fn_core& f) {
    if (f.resolved.load(std::memory_order_acquire)) [[likely]]
        return f.full_hash;
    return resolve_callee_hash(f);
}

/// A memoizable call that ran but could not be recorded (its key or its run cannot be verified).
inline void count_not_recorded(fn_core& callee) noexcept {
    if (trace_hooks::on()) callee.counters.not_recorded.fetch_add(1, std::memory_order_relaxed);
}

inline void count_hit(fn_core& callee, std::uint64_t saved_ns) noexcept {
    callee.counters.hits.fetch_add(1, std::memory_order_relaxed);
    callee.counters.saved_ns.fetch_add(saved_ns, std::memory_order_relaxed);
}

struct memo_hooks {
    /// Called on the calling thread when every argument is a value: a hit returns a ready
    /// lazy (or, with share_results, one that shares the identical call in flight); a miss
    /// an empty one.
    /// `S...` are the types the call stores its arguments as (see stored_t).
    template <class V, class... S>
    DESYNC_DETAIL_ALWAYS_INLINE static lazy<V> probe_values(fn_core& callee, fn_core* root,
                                                            const S&... a) {
        if constexpr (memo_call_v<V, S...>) {
            if (root && callee.memoizable()) return probe<V, S...>(callee, *root, a...);
        }
        return {};
    }

    /// Called when a call's inputs are ready; true if it finished (a hit), or will finish
    /// with the identical call it now follows, without running.
    template <class Task>
    static bool try_finish_early(Task& t) noexcept {
        return finish_early<typename Task::value_type>(t, t.args());
    }

    /// Called when a call's body is about to run (a miss of a memoizable call, or any call).
    template <class Task>
    static void on_start(Task& t) noexcept {
        start<typename Task::value_type>(t, t.args());
    }

    /// Called after a call's body and join, whether they succeeded or not: sets what the run
    /// called for the body that joins it, and records a memoizable call's result.
    template <class Task>
    static void on_finish(Task& t) noexcept {
        finish<typename Task::value_type>(t, t.args());
    }

    /// Called by a body's join for each call it made, once that call finished: what its run
    /// called is part of what the body's run called.
    static void joined(task_base& child) noexcept {
        if (!child.collects()) return;
        if (memo_frame* f = current_frame()) f->deps.note_set(child.deps());
    }

    /// Called on the calling thread right after a call of a body is made, before it starts.
    /// share_results registers a call in flight as soon as it exists, so identical calls made
    /// before it starts share it; a call with dataflow inputs is noted as a child of the
    /// memoizable body making it (its key is known once its inputs are).
    template <class Task>
    static void on_spawned(Task& t) noexcept {
        if (memo_frame* f = current_frame()) {
            try {
                f->deps.note_callee(t.callee());
            } catch (...) {  // out of memory: the body's run cannot be verified
                f->deps.note_set(unverifiable_deps());
            }
            t.set_collects();
        }
        spawned<typename Task::value_type>(t, t.args());
    }

  private:
    // A quick value's hit may come from a cell (without a lock), named by the key's inputs
    // when the arguments pack into two words (without hashing either).
    template <class V>
    static constexpr bool quick_v = taken_value<V>::quick && result_type_id<V> != 0;
    template <class V, class... K>
    static constexpr bool by_inputs_v =
        quick_v<V> && two_word_key_v<K...> && call_signature<V, K...> != 0;

    // The common hit stays small enough to inline into the call: a quick value, named by its
    // inputs, found in its cell. Everything else takes the full look.
    template <class V, class... K>
    DESYNC_DETAIL_ALWAYS_INLINE static lazy<V> probe(fn_core& callee, fn_core& root,
                                                     const K&... a) {
        if constexpr (by_inputs_v<V, K...>) {
            memo_table* table = root.memo_tables.load(std::memory_order_acquire);
            if (table && (root.share_results || !table->nothing_installed()) &&
                callee.resolved.load(std::memory_order_acquire) && !trace_hooks::on()) {
                auto const [low, high] = packed_words<2>(0, a...);
                quick_inputs const in{callee.full_hash, call_signature<V, K...>, low, high};
                quick_bytes bytes;
                std::uint32_t deps = 0;
                if (hash128 key; table->find_quick(in, bytes, key, deps)) {
                    try {
                        if (memo_frame* parent = current_frame())
                            noted_hit(*parent, callee, key, dep_sets::get().at(deps));
                        taken_value<V> taken;
                        taken(bytes);
                        return ready_lazy<V>(taken);
                    } catch (...) {  // out of memory: the call runs instead
                        return {};
                    }
                }
                return probe_full<V>(callee, root, a...);
            }
        }
        return probe_full<V>(callee, root, a...);
    }

    // Every other look. A key named by its inputs was looked for in its cell by probe, if at
    // all (not before the callee's hash is resolved): here only the locked find, which gives it
    // a cell for the next time.
    template <class V, class... K>
    DESYNC_DETAIL_NOINLINE static lazy<V> probe_full(fn_core& callee, fn_core& root,
                                                     const K&... a) {
        memo_table* table = root.memo_tables.load(std::memory_order_acquire);
        bool const share = root.share_results;
        bool const look = table && (share || !table->nothing_installed());
        try {
            memo_frame* parent = current_frame();
            if (!look && !parent) return {};
            std::uint64_t const callee_id = callee_hash(callee);
            taken_value<V> taken;
            constexpr bool quick = quick_v<V>;
            constexpr bool by_inputs = by_inputs_v<V, K...>;
            quick_inputs in{};
            if constexpr (by_inputs) {
                auto const [low, high] = packed_words<2>(0, a...);
                in = {callee_id, call_signature<V, K...>, low, high};
            }
            hash128 const key = memo_key<V, K...>(callee_id, a...);
            if (parent) parent->add_child(key);
            if (!look) return {};
            if constexpr (quick && !by_inputs) {  // a cell named by the key itself
                in = {key.low, result_type_id<V>, key.high, 0};
                quick_bytes bytes;
                std::uint32_t deps = 0;
                if (hash128 same; !trace_hooks::on() && table->find_quick(in, bytes, same, deps)) {
                    if (parent) noted_hit(*parent, callee, key, dep_sets::get().at(deps));
                    taken(bytes);
                    return ready_lazy<V>(taken);
                }
            }
            memo_found f = table->find(key, &type_tag<V>, share, taken, decode_record<V>,
                                       quick ? &in : nullptr);
            if (f.hit) {
                if (parent) noted_hit(*parent, callee, key, f.deps);
                return served<V>(callee, key, taken, f.saved_ns);
            }
            if (f.running) {
                if (parent) parent->deps.note_callee(callee);
                return shared<V>(callee, key, std::move(f.running));
            }
        } catch (...) {  // a user's hash_append or a decoding threw, or an argument's meaning
        }                // is beyond the key (counted when the call starts): the call runs
        return {};
    }

    // A hit made by a body under a memoizable call: the callee and what the hit's run called
    // are part of what the body's run called.
    static void noted_hit(memo_frame& parent, fn_core& callee, const hash128& key,
                          const dep_set* deps) {
        parent.add_child(key);
        parent.deps.note_callee(callee);
        parent.deps.note_set(deps);
    }

    template <class V>
    static lazy<V> served(fn_core& callee, const hash128& key, const taken_value<V>& v,
                          std::uint64_t saved_ns) {
        lazy<V> l = ready_lazy<V>(v);
        if (trace_hooks::on()) traced_hit(callee, key, saved_ns, *access::task(l));
        return l;
    }

    static void traced_hit(fn_core& callee, const hash128& key, std::uint64_t saved_ns,
                           task_base& stand_in) noexcept {
        count_hit(callee, saved_ns);
        stand_in.set_trace_id(trace_hooks::hit(callee, tl_frame.task, key, saved_ns));
    }

    // The second of two identical calls: a lazy of the first's result, joined in this scope.
    template <class V>
    static lazy<V> shared(fn_core& callee, const hash128& key, task_ref<> running) {
        auto* p = new shared_call<V>(
            task_ref<result_task<V>>(static_cast<result_task<V>*>(running.detach())));
        lazy<V> l = access::make<V>(task_ref<result_task<V>>(p));
        if (current_frame()) p->set_collects();
        p->follow();
        tl_frame.sc->adopt(p);
        if (trace_hooks::on()) traced_hit(callee, key, 0, *p);
        return l;
    }

    // Sets t.memo.key if `t` is a memoizable call whose inputs all have their values (false
    // if not, or if hashing threw). An input still running holds no value yet: its storage
    // may even hold a value of an earlier call that had the same memory.
    template <class V, class Task, class... S>
    static bool keyed(Task& t, const std::tuple<S...>& args) noexcept {
        if (t.memo.keyed) return true;
        if (t.memo.unrecorded || t.is_root() || !t.root() || !t.callee().memoizable())
            return false;
        if (!std::apply([](const S&... s) { return (key_ready(s) && ...); }, args)) return false;
        try {
            std::uint64_t const callee = callee_hash(t.callee());
            t.memo.key = std::apply(
                [&](const S&... s) { return memo_key<V, key_of_t<S>...>(callee, key_value(s)...); },
                args);
            t.memo.keyed = true;
        } catch (const unkeyable&) {  // an argument whose meaning the key cannot see
            t.memo.unrecorded = true;
            count_not_recorded(t.callee());
        } catch (...) {
        }
        return t.memo.keyed;
    }

    template <class V, class Task, class... S>
    static bool finish_early(Task& t, const std::tuple<S...>& args) noexcept {
        if constexpr (memo_call_v<V, S...>) {
            if (!keyed<V>(t, args)) return false;
            fn_core& root = *t.root();
            try {
                memo_table* table = root.share_results
                                        ? &tables_of(root)
                                        : root.memo_tables.load(std::memory_order_acquire);
                if (!table || (!root.share_results && table->nothing_installed())) return false;
                taken_value<V> taken;
                memo_found f = table->find(t.memo.key, &type_tag<V>, root.share_results, taken,
                                           decode_record<V>);
                if (f.hit) return finish_with<V>(t, taken, f.saved_ns, f.deps);
                // Follow only a call that is running: one still queued might wait for a thread
                // that is blocked on this call, which cannot help it along.
                if (f.running && f.running->state() == task_state::running)
                    return follow<V>(t, std::move(f.running));
                if (root.share_results) table->start_running(t.memo.key, &t, &type_tag<V>);
            } catch (...) {
            }
        }
        return false;
    }

    template <class V, class Task>
    static bool finish_with(Task& t, const taken_value<V>& v, std::uint64_t saved_ns,
                            const dep_set* deps) noexcept {
        try {
            if constexpr (std::is_void_v<V>)
                t.emplace();
            else
                t.emplace(v.get());
        } catch (...) {
            return false;  // the value could not be copied: run the call instead
        }
        t.set_deps(deps);
        traced_early_hit(t, saved_ns);  // before complete(): a reader may stop the trace at once
        t.complete();
        return true;
    }

    // A call finished by the table once its inputs were ready: counted and traced as a hit.
    template <class Task>
    static void traced_early_hit(Task& t, std::uint64_t saved_ns) noexcept {
        if (!trace_hooks::on()) return;
        count_hit(t.callee(), saved_ns);
        trace_hooks::finished_early(t, true);
    }

    template <class V, class Task>
    static bool follow(Task& t, task_ref<> running) {
        task_ref<result_task<V>> source(static_cast<result_task<V>*>(running.detach()));
        auto* node = new finish_from<V, Task>(t, source);
        traced_early_hit(t, 0);
        if (!source->add_continuation(node)) node->fire();
        return true;
    }

    // A memoizable call's body, and every body under one, keeps a frame: what it calls.
    template <class V, class Task, class... S>
    static void start(Task& t, const std::tuple<S...>& args) noexcept {
        bool memo = false;
        if constexpr (memo_call_v<V, S...>) {
            if (keyed<V>(t, args)) {
                memo = true;
                t.memo.started = std::chrono::steady_clock::now();
                if (trace_hooks::on())
                    t.callee().counters.misses.fetch_add(1, std::memory_order_relaxed);
                if (t.root()->share_results) on_start_running(t, args);
            }
        }
        if (!memo && !t.collects()) return;
        try {
            live_frames().emplace_back(task_ref<>::share(&t));
            tl_frame.memo_frame = true;
        } catch (...) {  // out of memory: its run cannot be verified (take_frame)
        }
    }

    template <class V, class Task, class... S>
    static void spawned(Task& t, const std::tuple<S...>& args) noexcept {
        if constexpr (memo_call_v<V, S...>) {
            if (!t.root() || !t.callee().memoizable()) return;
            if constexpr (Task::input_count > 0) {
                try {  // its key is known once its inputs are: look at the join
                    if (memo_frame* f = current_frame())
                        f->pending.emplace_back(task_ref<>::share(&t), &key_if_keyed<Task>);
                } catch (...) {
                }
            }
            if (t.root()->share_results) on_start_running(t, args);
        }
    }

    template <class Task, class... S>
    static void on_start_running(Task& t, const std::tuple<S...>& args) noexcept {
        using V = typename Task::value_type;
        if constexpr (memo_call_v<V, S...>) {
            if (!keyed<V>(t, args)) return;
            try {
                tables_of(*t.root()).start_running(t.memo.key, &t, &type_tag<V>);
            } catch (...) {  // out of memory: identical calls run on their own
            }
        }
    }

    template <class V, class Task, class... S>
    static void finish(Task& t, const std::tuple<S...>&) noexcept {
        bool memo = false;
        if constexpr (memo_call_v<V, S...>) memo = t.memo.keyed;
        if (!memo && !t.collects()) return;
        frame_result made = take_frame(t);
        t.set_deps(made.deps);
        if constexpr (memo_call_v<V, S...>) {
            if (!memo || t.failed()) return;
            if (made.deps == unverifiable_deps() || !result_keyable<V>(t)) {
                t.memo.unrecorded = true;
                count_not_recorded(t.callee());
                return;
            }
            auto const took = std::chrono::steady_clock::now() - t.memo.started;
            try {
                auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took);
                auto const took_ns = static_cast<std::uint64_t>(ns.count());
                tables_of(*t.root()).record(
                    t.memo.key, make_value<V>(t, t.callee().full_hash, took_ns,
                                              std::move(made.children), made.deps));
            } catch (...) {  // out of memory, or a copy that threw: the result is not recorded
            }
        }
    }

    // Whether a result's meaning is all in its type's shape: not an enum value outside the
    // range desync looks for enumerators in (desync::enum_range).
    template <class V, class Task>
    static bool result_keyable(Task& t) noexcept {
        if constexpr (!std::is_void_v<V> && contains_enum_v<V>) {
            try {
                hasher h;
                hash_append(h, t.value());
                return !h.saw_unranged_enum();
            } catch (...) {
                return false;
            }
        } else {
            return true;
        }
    }
};

}  // namespace desync::detail
