#pragma once
// Where the memo table meets a call of a desync function: probe on the calling thread when the
// arguments are values, or once a call's dataflow inputs are ready; take the key and the start time
// when a body starts; record the result when it succeeded. Calls go into the tables of their
// tree's root function; root calls themselves are never memoized.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <desync/detail/core/attributes.hpp>

#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/hooks.hpp>
#include <desync/detail/core/run.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/detail/memo/deps.hpp>
#include <desync/detail/memo/frame.hpp>
#include <desync/detail/memo/key.hpp>
#include <desync/detail/memo/remote.hpp>
#include <desync/detail/memo/store.hpp>
#include <desync/detail/memo/table.hpp>
#include <desync/detail/memo/taken.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/detail/version/registry.hpp>
#include <desync/error.hpp>
#include <exception>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace desync::detail {

/// The memo layer's bits of a call's task (task_base::hook_bit).
inline constexpr std::uint8_t memo_keyed = 1;       // its key is known (in its memo state)
inline constexpr std::uint8_t memo_unrecorded = 2;  // ran, but its key or run is not verified

template <class Task>
const hash128* key_if_keyed(task_base& t) noexcept {
    auto& call = static_cast<Task&>(t);
    return call.hook_bit(memo_keyed) ? &call.memo.key : nullptr;
}

/// The callee's full hash the first time: resolved through the registry.
DESYNC_DETAIL_COLD inline std::uint64_t resolve_callee_hash(fn_core& f) { return full_hash(f); }

/// The callee's full hash: resolved once, then read without the registry.
DESYNC_DECL std::uint64_t callee_hash(fn_core& f);

/// A memoizable call that ran but could not be recorded (its key or its run cannot be verified).
inline void count_not_recorded(fn_core& callee) noexcept {
    if (trace_hook::on()) callee.counters.not_recorded.fetch_add(1, std::memory_order_relaxed);
}

DESYNC_DECL void count_hit(fn_core& callee, std::uint64_t saved_ns) noexcept;

/// The hooks of calls of desync functions (core/hooks.hpp): the memo table's probe, key,
/// record, and what a body under a memoizable call does.
struct memo_hooks {
    static constexpr bool probes = true;
    /// Per-call state: the key once computed (the task's memo_keyed bit says so). A call that
    /// ran but whose key or run could not be verified has its memo_unrecorded bit set; a
    /// distributed call away has its reply attached (a remote_wait).
    struct state {
        hash128 key{};
    };
    /// What on_start hands to on_finish: when the body started (for the time a later hit saves).
    using started = std::chrono::steady_clock::time_point;

    /// The call's memo key, for the tracer; nullptr before it is known.
    template <class Task>
    static const hash128* key_of(const Task& t) noexcept {
        return t.hook_bit(memo_keyed) ? &t.memo.key : nullptr;
    }
    /// Whether the call ran but its result could not be recorded.
    template <class Task>
    static bool unrecorded(const Task& t) noexcept {
        return t.hook_bit(memo_unrecorded);
    }

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
    static started on_start(Task& t) noexcept {
        return start<typename Task::value_type>(t, t.args());
    }

    /// Called after a call's body and join, whether they succeeded or not: sets what the run
    /// called for the body that joins it, and records a memoizable call's result.
    template <class Task>
    static void on_finish(Task& t, started at) noexcept {
        finish<typename Task::value_type>(t, t.args(), at);
    }

    /// Called once a desync::distributed call's inputs are ready and the memo table did not
    /// answer it: with a transport installed, its arguments are encoded and handed over (true),
    /// and its reply will queue it; else (false) it runs here.
    template <class Task>
    static bool send_remote(Task& t) noexcept {
        using V = typename Task::value_type;
        using invoker = typename Task::invoker_type;
        if constexpr (requires { typename invoker::params; }) {
            if constexpr (remote_types_ok<typename invoker::params, V>::value) {
                const remote_transport* r = installed_remote.load(std::memory_order_acquire);
                if (!r) return false;
                try {
                    std::string args;
                    encode_arguments(static_cast<typename invoker::params*>(nullptr), args,
                                     t.args());
                    const std::uint64_t callee = callee_hash(t.callee());
                    auto w = std::make_unique<remote_wait_for<Task>>(t);
                    w->sent = std::chrono::steady_clock::now();
                    remote_wait& answer = *w;
                    t.attach(std::move(w));  // before submit: the reply may come at once
                    if (r->submit(callee, std::move(args), answer)) return true;
                } catch (...) {  // out of memory, or an argument that does not convert: run here
                }
                t.detach_attached();
            }
        }
        return false;
    }

    /// Called where the body would run: a call that ran elsewhere takes its reply instead
    /// (true), its value, or the worker's error thrown as the body's.
    template <class Task>
    static bool take_remote(Task& t) {
        if constexpr (remote_result_ok<typename Task::value_type>()) {
            std::unique_ptr<call_attachment> w = t.detach_attached();
            if (!w) return false;
            take_remote_result<typename Task::value_type>(t, static_cast<remote_wait&>(*w));
            return true;
        } else {
            return false;
        }
    }

    /// Called by a body's join for each call it made, once that call finished: what its run
    /// called is part of what the body's run called.
    static void joined(task_base& child) noexcept { note_joined(child); }

    /// Called on the calling thread right after a call of a body is made, before it starts.
    /// share_results registers a call in flight as soon as it exists, so identical calls made
    /// before it starts share it; a call with dataflow inputs is noted as a child of the
    /// memoizable body making it (its key is known once its inputs are).
    template <class Task>
    static void on_spawned(Task& t) noexcept {
        note_spawned(t, t.callee());
        spawned<typename Task::value_type>(t, t.args());
    }

private:
    // A quick value's hit may come from a cell (without a lock), named by the key's inputs
    // when the arguments pack into two words (without hashing either).
    template <class V>
    static constexpr bool quick_v = taken_value<V>::quick&& result_type_id<V> != 0;
    template <class V, class... K>
    static constexpr bool by_inputs_v =
        quick_v<V>&& two_word_key_v<K...>&& call_signature<V, K...> != 0;

    // The common hit stays small enough to inline into the call: a quick value, named by its
    // inputs, found in its cell. Everything else takes the full look.
    template <class V, class... K>
    DESYNC_DETAIL_ALWAYS_INLINE static lazy<V> probe(fn_core& callee, fn_core& root,
                                                     const K&... a) {
        if constexpr (by_inputs_v<V, K...>) {
            memo_table* table = root.memo_tables.load(std::memory_order_acquire);
            if (table && (root.share_results || !table->nothing_installed()) &&
                callee.resolved.load(std::memory_order_acquire) && !trace_hook::on()) {
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
    // a cell for the next time. Then the root's store, if it has one.
    template <class V, class... K>
    DESYNC_DETAIL_NOINLINE static lazy<V> probe_full(fn_core& callee, fn_core& root,
                                                     const K&... a) {
        memo_table* table = root.memo_tables.load(std::memory_order_acquire);
        bool const share = root.share_results;
        bool const look = table && (share || !table->nothing_installed());
        bool const stored = root.has_store.load(std::memory_order_acquire);
        try {
            memo_frame* parent = current_frame();
            if (!look && !parent && !stored) return {};
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
            if (!look) return stored ? from_store<V>(callee, root, key, parent) : lazy<V>{};
            if constexpr (quick && !by_inputs) {  // a cell named by the key itself
                in = {key.low, result_type_id<V>, key.high, 0};
                quick_bytes bytes;
                std::uint32_t deps = 0;
                if (hash128 same; !trace_hook::on() && table->find_quick(in, bytes, same, deps)) {
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
            if (stored) return from_store<V>(callee, root, key, parent);
        } catch (...) {  // a user's hash_append or a decoding threw, or an argument's meaning
        }                // is beyond the key (counted when the call starts): the call runs
        return {};
    }

    // The root's store, after its tables missed: a hit is installed and recorded in the tables
    // like a hit on a loaded cache file's record, and served. A required store that cannot
    // answer gives a lazy that holds the desync::store_error.
    template <class V>
    static lazy<V> from_store(fn_core& callee, fn_core& root, const hash128& key,
                              memo_frame* parent) {
        value_ptr v;
        try {
            v = stored_value<V>(root, key);
        } catch (const store_error&) {
            using failed = ready_task<V>;
            return access::make<V>(task_ref<result_task<V>>(
                new failed(typename failed::error_tag{}, std::current_exception())));
        }
        if (!v) return {};
        tables_of(root).found_elsewhere(key, v);
        if (parent) noted_hit(*parent, callee, key, v->deps());
        taken_value<V> taken;
        taken(*v);
        return served<V>(callee, key, taken, v->duration_ns());
    }

    // The value the root's store holds for `key` as a V, decoded as a loaded cache file's
    // record is; nullptr on a miss. A record that does not decode as a V is dropped (counted);
    // one whose run called a function this build has changed is stale. Throws store_error
    // when a required store cannot answer.
    template <class V>
    static value_ptr stored_value(fn_core& root, const hash128& key) {
        std::shared_ptr<memo_store> st = root.store.load(std::memory_order_acquire);
        if (!st) return nullptr;
        std::string record;
        if (!st->find(key, record)) return nullptr;
        value_ptr v = decode_record<V>(reinterpret_cast<const std::byte*>(record.data()));
        if (!v) {
            st->dropped(key);
            return nullptr;
        }
        if (!deps_hold(v->deps())) {
            st->stale(key);
            return nullptr;
        }
        return v;
    }

    // A hit made by a body under a memoizable call: the callee and what the hit's run called
    // are part of what the body's run called.
    static void noted_hit(memo_frame& parent, fn_core& callee, const hash128& key,
                          const dep_set* deps);

    template <class V>
    static lazy<V> served(fn_core& callee, const hash128& key, const taken_value<V>& v,
                          std::uint64_t saved_ns) {
        lazy<V> l = ready_lazy<V>(v);
        if (trace_hook::on()) traced_hit(callee, key, saved_ns, *access::task(l));
        return l;
    }

    static void traced_hit(fn_core& callee, const hash128& key, std::uint64_t saved_ns,
                           task_base& stand_in) noexcept;

    // The second of two identical calls: a lazy of the first's result, joined in this scope.
    template <class V>
    static lazy<V> shared(fn_core& callee, const hash128& key, task_ref<> running) {
        auto* p = new shared_call<V>(
            task_ref<result_task<V>>(static_cast<result_task<V>*>(running.detach())));
        lazy<V> l = access::make<V>(task_ref<result_task<V>>(p));
        if (current_frame()) p->set_collects();
        p->follow();
        tl_frame.sc->adopt(p);
        if (trace_hook::on()) traced_hit(callee, key, 0, *p);
        return l;
    }

    // Sets t.memo.key if `t` is a memoizable call whose inputs all have their values (false
    // if not, or if hashing threw). An input still running holds no value yet: its storage
    // may even hold a value of an earlier call that had the same memory.
    template <class V, class Task, class... S>
    static bool keyed(Task& t, const std::tuple<S...>& args) noexcept {
        if (t.hook_bit(memo_keyed)) return true;
        if (t.hook_bit(memo_unrecorded) || t.is_root() || !t.root() || !t.callee().memoizable())
            return false;
        if (!std::apply([](const S&... s) { return (key_ready(s) && ...); }, args)) return false;
        try {
            std::uint64_t const callee = callee_hash(t.callee());
            t.memo.key = std::apply(
                [&](const S&... s) { return memo_key<V, key_of_t<S>...>(callee, key_value(s)...); },
                args);
            t.set_hook_bit(memo_keyed);
        } catch (const unkeyable&) {  // an argument whose meaning the key cannot see
            t.set_hook_bit(memo_unrecorded);
            count_not_recorded(t.callee());
        } catch (...) {
        }
        return t.hook_bit(memo_keyed);
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
                bool const stored = root.has_store.load(std::memory_order_acquire);
                bool const look = table && (root.share_results || !table->nothing_installed());
                if (!look && !stored) return false;
                if (look) {
                    taken_value<V> taken;
                    memo_found f = table->find(t.memo.key, &type_tag<V>, root.share_results, taken,
                                               decode_record<V>);
                    if (f.hit) return finish_with<V>(t, taken, f.saved_ns, f.deps);
                    // Follow only a call that is running: one still queued might wait for a
                    // thread that is blocked on this call, which cannot help it along.
                    if (f.running && f.running->state() == task_state::running)
                        return follow<V>(t, std::move(f.running));
                }
                if (stored) {
                    value_ptr v;
                    try {
                        v = stored_value<V>(root, t.memo.key);
                    } catch (const store_error&) {
                        t.set_error(std::current_exception());
                        t.complete();
                        return true;
                    }
                    if (v) {
                        tables_of(root).found_elsewhere(t.memo.key, v);
                        taken_value<V> taken;
                        taken(*v);
                        return finish_with<V>(t, taken, v->duration_ns(), v->deps());
                    }
                }
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
        if (!trace_hook::on()) return;
        count_hit(t.callee(), saved_ns);
        trace_hook::get().finished_early(t, &t.callee(), key_of(t), true);
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
    static started start(Task& t, const std::tuple<S...>& args) noexcept {
        bool memo = false;
        started at{};
        if constexpr (memo_call_v<V, S...>) {
            if (keyed<V>(t, args)) {
                memo = true;
                auto* away = static_cast<const remote_wait*>(t.attached());
                at = away ? away->sent : std::chrono::steady_clock::now();
                if (trace_hook::on())
                    t.callee().counters.misses.fetch_add(1, std::memory_order_relaxed);
                if (t.root()->share_results) on_start_running(t, args);
            }
        }
        if (memo || t.collects()) push_frame(t);
        return at;
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
    static void finish(Task& t, const std::tuple<S...>&, started at) noexcept {
        if (t.is_root()) root_ended(t.root() ? *t.root() : t.callee());
        bool memo = false;
        if constexpr (memo_call_v<V, S...>) memo = t.hook_bit(memo_keyed);
        if (!memo && !t.collects()) return;
        frame_result made = take_frame(t);
        t.set_deps(made.deps);
        if constexpr (memo_call_v<V, S...>) {
            if (!memo || t.failed()) return;
            if (made.deps == unverifiable_deps() || !result_keyable<V>(t)) {
                t.set_hook_bit(memo_unrecorded);
                count_not_recorded(t.callee());
                return;
            }
            auto const took = std::chrono::steady_clock::now() - at;
            try {
                auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took);
                auto const took_ns = static_cast<std::uint64_t>(ns.count());
                fn_core& root = *t.root();
                value_ptr v = make_value<V>(t, t.callee().full_hash, took_ns,
                                            std::move(made.children), made.deps);
                if (!root.has_store.load(std::memory_order_acquire))
                    return tables_of(root).record(t.memo.key, std::move(v));
                tables_of(root).record(t.memo.key, v);
                if (std::shared_ptr<memo_store> st = root.store.load(std::memory_order_acquire))
                    st->write(t.memo.key, *v);  // a new result: the store keeps it
            } catch (...) {  // out of memory, or a copy that threw: the result is not recorded
            }
        }
    }

    // A root call's end: what its tree wrote to the root's store is made durable before its
    // value is ready. A store that fails here has said so (its errors count it).
    static void root_ended(fn_core& root) noexcept;

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

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/hooks.ipp>
#endif
