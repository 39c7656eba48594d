#pragma once
/// \file
/// `desync::lazy<T>`: the result of a call. The call starts when it is made; the lazy waits only
/// where its value is used. Copies share one result, like std::shared_future.

#include <desync/detail/core/attributes.hpp>

#include <desync/detail/core/call.hpp>
#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/run.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>

#include <cstdio>
#include <exception>
#include <type_traits>
#include <utility>

namespace desync {

namespace detail {
template <class T, class F>
auto then_impl(const lazy<T>& self, F&& f);
template <class T, class Token>
auto async_get_impl(const lazy<T>& self, Token&& token);
void report_lost_error(const std::exception_ptr& e) noexcept;
}  // namespace detail

/// The result of a desync call: started eagerly, waited for lazily. `lazy<void>` exists.
/// A lazy made outside any desync body (a root call) that is destroyed unread waits for its
/// call in the destructor and rethrows the call's error there, so `f();` behaves like a call —
/// unless its result was handed on to another call (`g(f())`, `f().then(h)`), which waits.
template <class T>
class lazy {
public:
    /// The type of the value.
    using value_type = T;

    /// An empty lazy, holding no call; only assignment and valid() may be used.
    lazy() noexcept = default;
    lazy(const lazy& o) noexcept : t_(o.t_) {
        if (t_ && t_->is_root()) t_->add_handle();
    }
    lazy(lazy&& o) noexcept = default;
    lazy& operator=(const lazy& o) {
        lazy(o).swap(*this);
        return *this;
    }
    lazy& operator=(lazy&& o) {
        lazy(std::move(o)).swap(*this);
        return *this;
    }
    DESYNC_DETAIL_ALWAYS_INLINE ~lazy() noexcept(false) {
        if (t_ && t_->is_root()) [[unlikely]]
            drop_root_handle();
    }
    void swap(lazy& o) noexcept { std::swap(t_, o.t_); }

    /// True unless default-constructed or moved from.
    bool valid() const noexcept { return static_cast<bool>(t_); }
    /// True when the call has finished (with a value or an error); never blocks.
    bool ready() const noexcept { return t_ && t_->done(); }
    /// Waits for the call to finish without rethrowing its error.
    void wait() const {
        detail::result_task<T>* t = checked();
        if (!t->done()) detail::wait_for(t);
    }
    /// `const T&`, or void for lazy<void>.
    using reference = typename std::conditional_t<std::is_void_v<T>, std::type_identity<void>,
                                                  std::add_lvalue_reference<const T>>::type;

    /// Waits and returns the value (a reference shared by all copies), or rethrows the error.
    reference get() const {
        wait();
        if (t_->failed()) std::rethrow_exception(t_->take_error());
        if constexpr (!std::is_void_v<T>) return t_->value();
    }
    /// Waits and returns the value: a lazy<T> can stand where a T is read.
    operator reference() const requires(!std::is_void_v<T>) { return get(); }
    /// The value, waiting for it.
    reference operator*() const requires(!std::is_void_v<T>) { return get(); }
    /// Member access to the value, waiting for it.
    const T* operator->() const requires(!std::is_void_v<T>) { return &get(); }

    /// Continues with `f(value)` once this call is done (or `f(lazy)`, for a callback that
    /// inspects errors itself; or `f()` for lazy<void>). Returns the lazy of f's result,
    /// flattened; if this call failed, `f(value)` is skipped and the error passes on.
    template <class F>
    auto then(F&& f) const {
        return detail::then_impl(*this, std::forward<F>(f));
    }

    /// Asio-style wait: completes `token` with (std::exception_ptr, T) — or (std::exception_ptr)
    /// for lazy<void> — on the handler's associated executor. Works with use_awaitable,
    /// use_future, deferred and plain callbacks; no thread blocks.
    template <class Token>
    auto async_get(Token&& token) const {
        return detail::async_get_impl(*this, std::forward<Token>(token));
    }

private:
    friend struct detail::access;
    explicit lazy(detail::task_ref<detail::result_task<T>> t) noexcept : t_(std::move(t)) {}

    detail::result_task<T>* checked() const {
        if (!t_)
            throw error(
                "desync::lazy: this lazy holds no call (default-constructed or moved from)");
        return t_.get();
    }

    DESYNC_DETAIL_COLD void drop_root_handle() {
        if (t_->drop_handle()) finish_root();
    }

    // The last handle of a root call: wait, and surface an error nobody has read. A call whose
    // result was read or handed on to another call (an input, then, after, when_all) is that
    // call's to wait for. During stack unwinding a throw would terminate the program, so the
    // error is reported instead, while this lazy still holds the call: the error may die on
    // a pool thread that lets go of the call last, and its release orders this thread's read
    // of the message before that (the count inside std::exception_ptr is one that thread
    // sanitizers cannot see in an uninstrumented standard library).
    void finish_root() {
        if (t_->handed_on()) return;
        detail::wait_for(t_.get());
        auto e = t_->claim_unreported_error();
        if (!e) return;
        if (std::uncaught_exceptions() == 0) {
            t_ = {};
            std::rethrow_exception(e);
        }
        detail::report_lost_error(e);
    }

    detail::task_ref<detail::result_task<T>> t_;
};

namespace detail {

DESYNC_DECL void report_lost_error(const std::exception_ptr& e) noexcept;

}  // namespace detail
}  // namespace desync

// ---- then and async_get, which need the call machinery and Asio

namespace desync::detail {

/// The core of calls that belong to no desync function (desync::async, then): never memoized.
DESYNC_DECL fn_core& anonymous_core();

template <class T, class F>
auto then_impl(const lazy<T>& self, F&& f) {
    using fn_t = std::decay_t<F>;
    using params = params_of_t<fn_t>;
    fn_core& anon = anonymous_core();
    if constexpr (is_desync_function_v<fn_t>) {
        return f(self);  // a desync function continues as a dataflow call
    } else if constexpr (param_takes_lazy<params, 0>()) {
        // A completion callback: runs after the call whatever its outcome, and gets the lazy.
        call_options opts{ordering{{access::task(self)}, false}, {}};
        return spawn_with<params>(anon, callable_invoker<fn_t>{std::forward<F>(f)}, std::move(opts),
                                  self);
    } else if constexpr (std::is_void_v<T>) {
        access::task(self)->hand_on_error();
        call_options opts{ordering{{access::task(self)}, true}, {}};
        return spawn_with<params>(anon, callable_invoker<fn_t>{std::forward<F>(f)},
                                  std::move(opts));
    } else {
        return spawn<params>(anon, callable_invoker<fn_t>{std::forward<F>(f)}, self);
    }
}

/// Delivers a finished call to an Asio completion handler on its associated executor.
template <class T, class Handler>
class async_get_node final : public continuation {
public:
    async_get_node(Handler h, task_ref<result_task<T>> t)
        : handler_(std::move(h)),
          work_(boost::asio::prefer(
              boost::asio::get_associated_executor(handler_, boost::asio::system_executor()),
              boost::asio::execution::outstanding_work.tracked)),
          task_(std::move(t)) {}

    void fire() noexcept override {
        std::unique_ptr<async_get_node> self(this);
        auto ex = boost::asio::get_associated_executor(handler_, boost::asio::system_executor());
        std::exception_ptr e = task_->failed() ? task_->take_error() : nullptr;
        if constexpr (std::is_void_v<T>) {
            boost::asio::dispatch(ex, boost::asio::append(std::move(handler_), e));
        } else {
            T value = e ? T() : task_->value();
            boost::asio::dispatch(ex,
                                  boost::asio::append(std::move(handler_), e, std::move(value)));
        }
    }

private:
    Handler handler_;
    std::decay_t<decltype(boost::asio::prefer(
        boost::asio::get_associated_executor(std::declval<Handler&>(),
                                             boost::asio::system_executor()),
        boost::asio::execution::outstanding_work.tracked))>
        work_;
    task_ref<result_task<T>> task_;
};

template <class T>
using async_get_signature =
    std::conditional_t<std::is_void_v<T>, void(std::exception_ptr), void(std::exception_ptr, T)>;

template <class T, class Token>
auto async_get_impl(const lazy<T>& self, Token&& token) {
    auto t = access::task(self);
    if (!t) throw error("desync::lazy::async_get: this lazy holds no call");
    t->hand_on_error();  // the handler receives the error
    return boost::asio::async_initiate<Token, async_get_signature<T>>(
        [](auto handler, task_ref<result_task<T>> task) {
            using node_t = async_get_node<T, std::decay_t<decltype(handler)>>;
            auto* node = new node_t(std::move(handler), task);
            if (!task->add_continuation(node)) node->fire();
        },
        token, std::move(t));
}

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/lazy.ipp>
#endif
