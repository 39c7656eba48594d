#pragma once
/// \file
/// Options that follow the callable in `desync::desync(f, options...)`, `DESYNC_FN` and
/// `DESYNC_DEFINE`: where calls run and whether they may be memoized.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/memo/key.hpp>
#include <desync/hash.hpp>
#include <desync/resources.hpp>
#include <desync/scheduler.hpp>

#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace desync {

/// Calls sleep or wait on I/O: run them on the blocking pool, not the compute pool.
struct blocking_t {
    explicit constexpr blocking_t() = default;
};
/// Calls sleep or wait on I/O: run them on the blocking pool, not the compute pool.
inline constexpr blocking_t blocking{};

/// Calls have side effects: never skip one because of the memo table, never record one.
struct uncached_t {
    explicit constexpr uncached_t() = default;
};
/// Calls have side effects: never skip one because of the memo table, never record one.
inline constexpr uncached_t uncached{};

/// The type of desync::share_results.
struct share_results_t {
    explicit constexpr share_results_t() = default;
};
/// As the root of a call tree, also reuse the results this run records as they arrive, and
/// run identical calls that overlap once: the second waits for the first's result.
inline constexpr share_results_t share_results{};

/// The type of desync::distributed.
struct distributed_t {
    explicit constexpr distributed_t() = default;
};
/// On rank 0 of an MPI job (<desync/mpi.hpp>, desync::mpi::cluster), calls that miss the memo
/// table run on the other ranks; without a cluster of several ranks they run here.
inline constexpr distributed_t distributed{};

/// Bounds a function's memo table (used by the call trees it is the root of): at most
/// `entries` results and `bytes` bytes of results (0: no bound); least recently used go first.
struct cache_limit {
    std::size_t entries = 0;  ///< most results kept; 0: no bound
    std::size_t bytes = 0;    ///< most bytes kept (encoded size, or object size); 0: no bound
};

/// Run calls on a given executor (any Asio executor, or a desync::pool).
template <class Executor>
struct on_t {
    Executor executor;
};

/// Run calls on `ex`: an Asio executor (io_context, thread_pool, strand, ...).
template <class Executor>
    requires(!std::is_same_v<Executor, pool> &&
             (boost::asio::execution::is_executor<Executor>::value ||
              boost::asio::is_executor<Executor>::value))
on_t<Executor> on(Executor ex) { return {std::move(ex)}; }

/// Run calls on an Asio execution context (io_context, thread_pool) through its executor.
template <class Context>
    requires requires(Context& c) { c.get_executor(); }
auto on(Context& context) { return on(context.get_executor()); }

/// Run calls on a desync::pool (which must outlive the function's calls).
inline on_t<pool*> on(pool& p) { return {&p}; }

/// What a body depends on that its text cannot show, for its version: desync functions it
/// reaches indirectly, and values it reads from outside (a global constant), hashed like
/// arguments when the version is resolved (at first use, after static initialization).
/// An lvalue is read at resolution; a temporary is copied.
struct uses_t {
    std::vector<detail::use_entry> entries;
};

namespace detail {

template <class T>
use_entry make_use(T&& item) {
    using value_t = std::remove_cvref_t<T>;
    if constexpr (requires {
                      item.core();
                      requires std::is_base_of_v<fn_core,
                                                 std::remove_cvref_t<decltype(item.core())>>;
                  }) {
        fn_core& c = item.core();
        c.retain();  // a desync::desync(...) function's core stays alive while the user does
        return use_entry{&c, {}, std::shared_ptr<const void>(&c, [](const void* p) {
                             static_cast<fn_core*>(const_cast<void*>(p))->release();
                         })};
    } else {
        static_assert(hashable<value_t>,
                      "desync::uses: a value it names must be hashable (see desync::hashable)");
        std::shared_ptr<const value_t> held;
        if constexpr (std::is_lvalue_reference_v<T>)
            held = std::shared_ptr<const value_t>(std::shared_ptr<const value_t>{}, &item);
        else
            held = std::make_shared<const value_t>(std::forward<T>(item));
        auto hash = [held] {
            // The value's shape, not only its type's name: an enum constant whose enumerators
            // were reordered or renamed changes the hash.
            hash128 h = hash_value(shape_id<value_t>(), *held);
            return h.low ^ (h.high * 0x9E3779B97F4A7C15ull);
        };
        return use_entry{nullptr, std::move(hash), held};
    }
}

}  // namespace detail

/// Names what a body depends on beyond its text: `desync::uses(other_fn, kThreshold)`.
template <class... T>
uses_t uses(T&&... items) {
    return uses_t{{detail::make_use(std::forward<T>(items))...}};
}

namespace detail {

DESYNC_DECL void apply_option(fn_core& c, uses_t u);
inline void apply_option(fn_core& c, blocking_t) { c.blocking = true; }
inline void apply_option(fn_core& c, uncached_t) { c.uncached = true; }
inline void apply_option(fn_core& c, on_t<pool*> o) { c.exec = o.executor; }
DESYNC_DECL void apply_option(fn_core& c, needs n);
inline void apply_option(fn_core& c, share_results_t) { c.share_results = true; }
inline void apply_option(fn_core& c, distributed_t) { c.distributed = true; }
DESYNC_DECL void apply_option(fn_core& c, cache_limit l);

template <class Executor>
void apply_option(fn_core& c, on_t<Executor> o) {
    auto slot = std::make_shared<asio_slot<Executor>>(std::move(o.executor));
    c.exec = slot.get();
    c.own_exec = std::move(slot);
}

template <class T>
concept option = requires(fn_core& c, T&& t) {
    apply_option(c, std::forward<T>(t));
};

}  // namespace detail
}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/options.ipp>
#endif
