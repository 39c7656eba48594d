#pragma once
// lazy<T>::then and lazy<T>::async_get, which need the call machinery and Asio.

#include <desync/detail/call.hpp>
#include <desync/detail/fn_core.hpp>
#include <desync/detail/traits.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace desync::detail {

/// The core of calls that belong to no desync function (desync::async, then): never memoized.
inline fn_core& anonymous_core() {
    static fn_core* core = [] {
        auto* c = new fn_core;  // never destroyed: calls may still refer to it at exit
        c->name = "desync::async";
        c->immortal = true;
        c->transparent = true;  // the callable is the caller's own code (or a plain function)
        return c;
    }();
    return *core;
}

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
        return spawn_with<params>(anon, callable_invoker<fn_t>{std::forward<F>(f)},
                                  std::move(opts), self);
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
            boost::asio::dispatch(ex, boost::asio::append(std::move(handler_), e, std::move(value)));
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
