#pragma once
/// \file
/// Composition: ordering edges (`after`), any callable on the pool (`async`) or waited for
/// (`sync`), `when_all` / `when_any`, and `batch`, a queue of calls started together.

#include <desync/detail/core/call.hpp>
#include <desync/detail/core/gather.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/error.hpp>
#include <desync/lazy.hpp>
#include <desync/resources.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <exception>
#include <future>
#include <iterator>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace desync {

/// Start a call only after these calls have finished, without taking their values (an
/// ordering edge, semisync's dependencies): `f(desync::after(a, b), x)`. If one of them
/// failed, the call does not run and fails with that error.
struct after_t {
    detail::ordering order;
};

/// An ordering edge on `lazies` (of any value types): see after_t.
template <class... T>
after_t after(const lazy<T>&... lazies) {
    after_t a;
    auto add = [&](const auto& l) {
        const auto& t = detail::access::task(l);
        if (!t) throw error("desync::after: an empty lazy");
        t->hand_on_error();  // the call that waits reports the error
        a.order.tasks.push_back(t);
    };
    (add(lazies), ...);
    return a;
}

namespace detail {

template <class Params, class Invoker, class First, class... Rest>
DESYNC_DETAIL_ALWAYS_INLINE auto make_call_peel(fn_core& callee, Invoker inv, call_options&& opts,
                                                First&& first, Rest&&... rest);

/// Makes a call, taking leading call options (desync::after, desync::needs) off the arguments.
template <class Params, class Invoker, class... A>
DESYNC_DETAIL_ALWAYS_INLINE auto make_call(fn_core& callee, Invoker inv, call_options&& opts,
                                           A&&... a) {
    if constexpr (sizeof...(A) > 0) {
        return make_call_peel<Params>(callee, std::move(inv), std::move(opts),
                                      std::forward<A>(a)...);
    } else {
        return spawn_with<Params>(callee, std::move(inv), std::move(opts));
    }
}

template <class Params, class Invoker, class First, class... Rest>
DESYNC_DETAIL_ALWAYS_INLINE auto make_call_peel(fn_core& callee, Invoker inv, call_options&& opts,
                                                First&& first, Rest&&... rest) {
    if constexpr (std::is_same_v<std::remove_cvref_t<First>, after_t>) {
        for (const auto& t : first.order.tasks) opts.extra().order.tasks.push_back(t);
        return make_call<Params>(callee, std::move(inv), std::move(opts),
                                 std::forward<Rest>(rest)...);
    } else if constexpr (std::is_same_v<std::remove_cvref_t<First>, needs>) {
        opts.extra().res = resolve_needs(first);  // throws here, at the call, if it can never fit
        return make_call<Params>(callee, std::move(inv), std::move(opts),
                                 std::forward<Rest>(rest)...);
    } else {
        return spawn_with<Params>(callee, std::move(inv), std::move(opts),
                                  std::forward<First>(first), std::forward<Rest>(rest)...);
    }
}

}  // namespace detail

/// Runs any callable on the default pool and returns the lazy of its result (flattened).
/// Lazy arguments are dataflow inputs; leading desync::after / desync::needs apply.
/// Such calls join in the running body like any other; they are never memoized.
template <class F, class... A>
auto async(F&& f, A&&... a) {
    using fn_t = std::decay_t<F>;
    return detail::make_call<detail::params_of_t<fn_t>>(
        detail::anonymous_core(), detail::callable_invoker<fn_t>{std::forward<F>(f)},
        detail::call_options{}, std::forward<A>(a)...);
}

namespace detail {

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<std::future<T>> : std::true_type {};
template <class T>
struct is_future<std::shared_future<T>> : std::true_type {};

template <class T>
struct is_awaitable : std::false_type {};
template <class T, class E>
struct is_awaitable<boost::asio::awaitable<T, E>> : std::true_type {};

// Runs an awaitable to completion on a private event loop on the calling thread: it never
// needs a pool thread, so it cannot deadlock even when called from the only thread of a pool.
template <class T, class E>
T run_awaitable(boost::asio::awaitable<T, E> aw) {
    boost::asio::io_context loop;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>> value;
    if constexpr (std::is_void_v<T>) {
        boost::asio::co_spawn(loop, std::move(aw), [&](std::exception_ptr e) {
            error = e;
            value.emplace();
        });
    } else {
        boost::asio::co_spawn(loop, std::move(aw), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e) value.emplace(std::move(v));
        });
    }
    loop.run();
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*value);
}

}  // namespace detail

/// The value of any callable (trulens' `sync`): calls `f(args...)` and, when it returns a
/// lazy, a std::future / std::shared_future or an asio::awaitable, waits for its value.
/// `sync(lazy)` waits for the lazy. Errors are rethrown.
template <class F, class... A>
decltype(auto) sync(F&& f, A&&... a) {
    if constexpr (detail::is_lazy_v<F> && sizeof...(A) == 0) {
        using T = detail::unwrap_lazy_t<F>;
        if constexpr (std::is_void_v<T>)
            f.get();
        else
            return T(f.get());
    } else {
        using R = std::invoke_result_t<F, A...>;
        using raw = std::remove_cvref_t<R>;
        if constexpr (detail::is_lazy_v<raw>) {
            return desync::sync(std::invoke(std::forward<F>(f), std::forward<A>(a)...));
        } else if constexpr (detail::is_future<raw>::value) {
            return std::invoke(std::forward<F>(f), std::forward<A>(a)...).get();
        } else if constexpr (detail::is_awaitable<raw>::value) {
            return detail::run_awaitable(std::invoke(std::forward<F>(f), std::forward<A>(a)...));
        } else {
            return std::invoke(std::forward<F>(f), std::forward<A>(a)...);
        }
    }
}

/// A lazy of all values at once: `when_all(a, b)` gives lazy<std::tuple<A, B>> (a lazy<void>
/// contributes std::monostate). Fails if any input failed (all their errors, in order).
template <class... T>
auto when_all(const lazy<T>&... lazies) {
    using result = std::tuple<detail::slot_t<T>...>;
    std::vector<detail::task_ref<>> inputs{detail::input_task(lazies)...};
    return detail::make_gather<result>(std::move(inputs),
                                       [](const std::vector<detail::task_ref<>>& in) {
                                           return [&]<std::size_t... I>(std::index_sequence<I...>) {
                                               return result{detail::slot_value<T>(in[I])...};
                                           }
                                           (std::index_sequence_for<T...>{});
                                       });
}

/// A lazy of all values of a range of lazies: lazy<std::vector<T>> (lazy<void> for a range
/// of lazy<void>), in the range's order.
template <class Range>
    requires detail::is_lazy_v<std::ranges::range_value_t<Range>>
auto when_all(const Range& lazies) {
    using T = detail::unwrap_lazy_t<std::ranges::range_value_t<Range>>;
    std::vector<detail::task_ref<>> inputs;
    for (const auto& l : lazies) inputs.push_back(detail::input_task(l));
    using result = std::conditional_t<std::is_void_v<T>, void, std::vector<detail::slot_t<T>>>;
    return detail::make_gather<result>(std::move(inputs),
                                       [](const std::vector<detail::task_ref<>>& in) {
                                           if constexpr (!std::is_void_v<T>) {
                                               result out;
                                               out.reserve(in.size());
                                               for (const auto& t : in)
                                                   out.push_back(detail::slot_value<T>(t));
                                               return out;
                                           }
                                       });
}

/// The first call of a set to finish: its position and value.
template <class T>
struct any_result {
    std::size_t index;  ///< position of the first call to finish
    T value;            ///< its value
};
/// The first call of a set of lazy<void> to finish: its position.
template <>
struct any_result<void> {
    std::size_t index;  ///< position of the first call to finish
};

/// The first of a range of lazies to finish: lazy<any_result<T>>. If it failed, the result
/// fails with its error. The others keep running and join in their own scope.
template <class Range>
    requires detail::is_lazy_v<std::ranges::range_value_t<Range>>
auto when_any(const Range& lazies) {
    using T = detail::unwrap_lazy_t<std::ranges::range_value_t<Range>>;
    std::vector<detail::task_ref<>> inputs;
    for (const auto& l : lazies) inputs.push_back(detail::raw_task(l));
    if (inputs.empty()) throw error("desync::when_any: no lazies to wait for");
    return detail::make_race<any_result<T>>(
        std::move(inputs), [](std::size_t i, const detail::task_ref<>& t) {
            if constexpr (std::is_void_v<T>)
                return any_result<void>{i};
            else
                return any_result<T>{i, static_cast<detail::result_task<T>*>(t.get())->value()};
        });
}

/// The first of several lazies of one type to finish (see the range form).
template <class T, class... More>
    requires std::conjunction_v<std::is_same<T, More>...>
auto when_any(const lazy<T>& first, const lazy<More>&... more) {
    return when_any(std::vector<lazy<T>>{first, more...});
}

/// A queue of calls started together (semisync's queue): `add` makes a call that waits for
/// `begin()`; `clear()` cancels the calls not begun. A batch destroyed before begin() cancels
/// its calls, so a forgotten batch cannot hang a join.
class batch {
public:
    batch() : gate_(detail::make_gate()) {}
    batch(const batch&) = delete;
    batch& operator=(const batch&) = delete;
    ~batch() { clear(); }

    /// Makes the call `f(args...)` (f a desync function or any callable), held until begin().
    template <class F, class... A>
    auto add(const F& f, A&&... a) {
        auto gate = after_t{detail::ordering{{gate_}, true}};
        auto l = [&] {
            if constexpr (detail::is_desync_function_v<F>)
                return f(std::move(gate), std::forward<A>(a)...);
            else
                return desync::async(f, std::move(gate), std::forward<A>(a)...);
        }();
        calls_.push_back(detail::raw_task(l));
        return l;
    }

    /// Starts every call added since the last begin() or clear(); the lazy finishes when all
    /// of them have (and fails with their errors).
    lazy<void> begin() {
        auto calls = std::move(calls_);
        calls_.clear();
        detail::open_gate(std::exchange(gate_, detail::make_gate()));
        return detail::make_gather<void>(std::move(calls), [](const auto&) {});
    }

    /// Cancels the calls not begun: they never run, and read they throw desync::cancelled
    /// (which no join reports: a cancelled call is not an error of its body).
    void clear() noexcept {
        calls_.clear();
        detail::cancel_gate(std::exchange(gate_, detail::make_gate()));
    }

    /// The number of calls waiting for begin().
    std::size_t size() const noexcept { return calls_.size(); }

private:
    detail::task_ref<> gate_;
    std::vector<detail::task_ref<>> calls_;
};

}  // namespace desync
