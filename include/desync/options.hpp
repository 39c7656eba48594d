#pragma once
/// \file
/// Options that follow the callable in `desync::desync(f, options...)`, `DESYNC_FN` and
/// `DESYNC_DEFINE`: where calls run and whether they may be memoized.

#include <desync/detail/fn_core.hpp>
#include <desync/resources.hpp>
#include <desync/scheduler.hpp>

#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>

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
on_t<Executor> on(Executor ex) {
    return {std::move(ex)};
}

/// Run calls on an Asio execution context (io_context, thread_pool) through its executor.
template <class Context>
    requires requires(Context& c) { c.get_executor(); }
auto on(Context& context) {
    return on(context.get_executor());
}

/// Run calls on a desync::pool (which must outlive the function's calls).
inline on_t<pool*> on(pool& p) { return {&p}; }

namespace detail {

inline void apply_option(fn_core& c, blocking_t) { c.blocking = true; }
inline void apply_option(fn_core& c, uncached_t) { c.uncached = true; }
inline void apply_option(fn_core& c, on_t<pool*> o) { c.exec = o.executor; }
inline void apply_option(fn_core& c, needs n) { c.default_needs = std::move(n); }

template <class Executor>
void apply_option(fn_core& c, on_t<Executor> o) {
    auto slot = std::make_shared<asio_slot<Executor>>(std::move(o.executor));
    c.exec = slot.get();
    c.own_exec = std::move(slot);
}

template <class T>
concept option = requires(fn_core& c, T&& t) { apply_option(c, std::forward<T>(t)); };

}  // namespace detail
}  // namespace desync
