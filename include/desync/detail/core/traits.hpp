#pragma once
// Type-level plumbing for calls: which arguments are lazies, which of them are dataflow inputs,
// what the body receives and returns.

#include <desync/detail/core/task.hpp>

#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace desync {
template <class T>
class lazy;
}  // namespace desync

namespace desync::detail {

template <class T>
struct lazy_value {
    using type = T;
    static constexpr bool is_lazy = false;
};
template <class T>
struct lazy_value<lazy<T>> {
    using type = T;
    static constexpr bool is_lazy = true;
};
template <class T>
inline constexpr bool is_lazy_v = lazy_value<std::remove_cvref_t<T>>::is_lazy;
template <class T>
using unwrap_lazy_t = typename lazy_value<std::remove_cvref_t<T>>::type;

/// A dataflow input: the call starts once this task is done, and the body gets its value.
template <class T>
struct input {
    using value_type = T;
    task_ref<result_task<T>> task;
};
template <class T>
struct is_input : std::false_type {};
template <class T>
struct is_input<input<T>> : std::true_type {};
template <class T>
inline constexpr bool is_input_v = is_input<std::remove_cvref_t<T>>::value;

/// Tasks a call must wait for without taking their values (desync::after, then callbacks).
struct ordering {
    std::vector<task_ref<>> tasks;
    bool propagate_errors = true;  // a failed task fails the call (after) or not (callbacks)
    std::size_t size() const noexcept { return tasks.size(); }
    bool empty() const noexcept { return tasks.empty(); }
};

// --- parameter lists of callables whose call operator is one non-template function

template <class... P>
struct param_list {
    static constexpr std::size_t size = sizeof...(P);
    using tuple = std::tuple<P...>;
};

template <class F>
struct params_of_fn {
    using type = void;
};
template <class R, class... P>
struct params_of_fn<R(P...)> {
    using type = param_list<P...>;
};
template <class R, class... P>
struct params_of_fn<R(P...) noexcept> : params_of_fn<R(P...)> {};
template <class R, class... P>
struct params_of_fn<R (*)(P...)> : params_of_fn<R(P...)> {};
template <class R, class... P>
struct params_of_fn<R (*)(P...) noexcept> : params_of_fn<R(P...)> {};
#define DESYNC_DETAIL_MEMBER_PARAMS(QUALS)                                \
    template <class R, class C, class... P>                               \
    struct params_of_fn<R (C::*)(P...) QUALS> : params_of_fn<R(P...)> {}; \
    template <class R, class C, class... P>                               \
    struct params_of_fn<R (C::*)(P...) QUALS noexcept> : params_of_fn<R(P...)> {};
DESYNC_DETAIL_MEMBER_PARAMS()
DESYNC_DETAIL_MEMBER_PARAMS(const)
DESYNC_DETAIL_MEMBER_PARAMS(&)
DESYNC_DETAIL_MEMBER_PARAMS(const&)
#undef DESYNC_DETAIL_MEMBER_PARAMS

template <class F, class = void>
struct params_of : params_of_fn<std::remove_cvref_t<F>> {};
template <class F>
struct params_of<F, std::void_t<decltype(&std::remove_cvref_t<F>::operator())>>
    : params_of_fn<decltype(&std::remove_cvref_t<F>::operator())> {};

/// The callable's parameter list, or void when it cannot be known (a generic lambda).
template <class F>
using params_of_t = typename params_of<F>::type;

template <class Params, std::size_t I>
constexpr bool param_takes_lazy() {
    if constexpr (std::is_void_v<Params>) {
        return false;
    } else if constexpr (I < Params::size) {
        return is_lazy_v<std::tuple_element_t<I, typename Params::tuple>>;
    } else {
        return false;
    }
}

template <class Params, std::size_t I>
struct param_at {
    using type = void;  // unknown: a generic callable, or past the end
};
template <class... P, std::size_t I>
    requires(I < sizeof...(P))
struct param_at<param_list<P...>, I> {
    using type = std::tuple_element_t<I, std::tuple<P...>>;
};

/// The parameter's own type when an argument should be kept as that: the parameter is known,
/// takes a value (or a const reference to one) of a concrete type, and the argument converts.
template <class Params, std::size_t I, class A>
constexpr bool keep_as_param() {
    using P = typename param_at<Params, I>::type;
    if constexpr (std::is_void_v<P> || is_lazy_v<A>) {
        return false;
    } else {
        using V = std::remove_cvref_t<P>;
        return !is_lazy_v<V> && std::is_object_v<V> && !std::is_abstract_v<V> &&
               !std::is_array_v<V> && std::is_constructible_v<V, A&&>;
    }
}

/// How argument I is kept in the call: a lazy becomes a dataflow input unless the parameter
/// itself is a lazy; a value is kept as the parameter's type when known (so "abc" given to a
/// std::string parameter is a std::string, and the memo key hashes what the body receives),
/// else decay-copied, as std::thread does.
template <class Params, std::size_t I, class A>
using stored_t = std::conditional_t<
    is_lazy_v<A> && !param_takes_lazy<Params, I>(), input<unwrap_lazy_t<A>>,
    std::conditional_t<keep_as_param<Params, I, A>(),
                       std::remove_cvref_t<typename param_at<Params, I>::type>, std::decay_t<A>>>;

template <class S>
struct passed {
    using type = S&&;
};
template <class T>
struct passed<input<T>> {
    using type = const T&;
};
/// What the body receives for a stored argument.
template <class S>
using passed_t = typename passed<S>::type;

template <class Invoker, class... S>
using call_result_t = std::invoke_result_t<Invoker&, passed_t<S>...>;
/// What a call's lazy holds: the body's result by value (a returned reference is copied, a
/// returned lazy is flattened).
template <class Invoker, class... S>
using call_value_t = std::remove_cvref_t<unwrap_lazy_t<call_result_t<Invoker, S...>>>;

/// Internal access to a lazy's task (lazy befriends it).
struct access {
    template <class T>
    static const task_ref<result_task<T>>& task(const lazy<T>& l) noexcept {
        return l.t_;
    }
    template <class T>
    DESYNC_DETAIL_ALWAYS_INLINE static lazy<T> make(task_ref<result_task<T>> t) noexcept {
        return lazy<T>(std::move(t));
    }
};

/// True for desync function objects (fn, declared); specialised in function.hpp.
template <class T>
struct is_desync_function : std::false_type {};
template <class T>
inline constexpr bool is_desync_function_v = is_desync_function<std::remove_cvref_t<T>>::value;

/// Invokes a callable held by value (desync::async, then).
template <class F>
struct callable_invoker {
    F f;
    template <class... P>
    decltype(auto) operator()(P&&... p) {
        return std::invoke(f, std::forward<P>(p)...);
    }
};

}  // namespace desync::detail
