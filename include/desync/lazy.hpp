#pragma once
/// \file
/// `desync::lazy<T>`: the result of a call. The call starts when it is made; the lazy waits only
/// where its value is used. Copies share one result, like std::shared_future.

#include <desync/detail/attributes.hpp>
#include <desync/detail/run.hpp>
#include <desync/detail/task.hpp>
#include <desync/detail/traits.hpp>
#include <desync/error.hpp>

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
    operator reference() const
        requires(!std::is_void_v<T>)
    {
        return get();
    }
    /// The value, waiting for it.
    reference operator*() const
        requires(!std::is_void_v<T>)
    {
        return get();
    }
    /// Member access to the value, waiting for it.
    const T* operator->() const
        requires(!std::is_void_v<T>)
    {
        return &get();
    }

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
        if (!t_) throw error("desync::lazy: this lazy holds no call (default-constructed or moved from)");
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

inline void report_lost_error(const std::exception_ptr& e) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::fprintf(stderr, "desync: a root call failed during stack unwinding: %s\n", x.what());
    } catch (...) {
        std::fprintf(stderr, "desync: a root call failed during stack unwinding\n");
    }
}

}  // namespace detail
}  // namespace desync

#include <desync/detail/lazy_impl.hpp>
