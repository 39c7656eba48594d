#pragma once
// A desync::distributed call on rank 0 of a cluster, on its way elsewhere: its arguments encoded
// by the cache codec for the installed transport (core/hooks.hpp), and the reply it waits for.
// The reply queues the call, whose run takes the decoded result, or the worker's error, in
// place of running the body; the memo hooks then record it like any result.

#include <desync/codec.hpp>
#include <desync/detail/core/hooks.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/detail/memo/taken.hpp>
#include <desync/error.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace desync::detail {

/// Whether a parameter of type P can travel: a value the cache codec encodes (not a lazy).
template <class P>
constexpr bool remote_param_ok() {
    if constexpr (is_lazy_v<P>)
        return false;
    else
        return is_encodable_v<std::remove_cvref_t<P>>;
}
/// Whether a result of type V can travel: none, or a value the cache codec encodes.
template <class V>
constexpr bool remote_result_ok() {
    if constexpr (std::is_void_v<V>)
        return true;
    else
        return is_encodable_v<V>;
}

/// Whether a call with these parameters and this value can travel.
template <class Params, class V>
struct remote_types_ok : std::false_type {};  // a generic callable: its parameters are unknown
template <class... P, class V>
struct remote_types_ok<param_list<P...>, V>
    : std::bool_constant<(remote_param_ok<P>() && ...) && remote_result_ok<V>()> {};

/// Whether every parameter of a list can travel (false for a generic callable).
template <class Params>
struct remote_params_ok : std::false_type {};
template <class... P>
struct remote_params_ok<param_list<P...>> : std::bool_constant<(remote_param_ok<P>() && ...)> {};

/// What a call away on a worker is given back: its encoded result, or the worker's error.
/// Attached to the call until its run takes it.
class remote_wait : public call_attachment, public remote_answer {
public:
    remote_wait() = default;
    remote_wait(const remote_wait&) = delete;
    remote_wait& operator=(const remote_wait&) = delete;

    std::string result;
    std::exception_ptr error;
    std::chrono::steady_clock::time_point sent{};  // the call's time runs from here
};

/// The reply of one call `Task`, which it queues once the reply came (resume_remote()).
template <class Task>
class remote_wait_for final : public remote_wait {
public:
    explicit remote_wait_for(Task& t) noexcept : keep_(task_ref<>::share(&t)), task_(&t) {}

    void remote_done(std::string r) noexcept override {
        result = std::move(r);
        task_->resume_remote();  // the call may run, and free this, before it returns
    }
    void remote_failed(std::exception_ptr e) noexcept override {
        error = std::move(e);
        task_->resume_remote();
    }

private:
    task_ref<> keep_;  // the call lives while its reply is owed
    Task* task_;
};

/// Appends argument `s`, stored for a parameter `P`, as the parameter's type (what the worker
/// decodes): a dataflow input's value of another type is converted first.
template <class P, class S>
void encode_argument(std::string& out, const S& s) {
    using value_t = std::remove_cvref_t<P>;
    const auto& v = key_value(s);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v)>, value_t>)
        encode(out, v);
    else
        encode(out, value_t(v));
}

template <class... P, class... S>
void encode_arguments(param_list<P...>*, std::string& out, const std::tuple<S...>& args) {
    std::apply([&](const S&... s) { (encode_argument<P>(out, s), ...); }, args);
}

/// Decodes a call's arguments as the values of parameters `P...`; false if the bytes are not.
template <class... V>
bool decode_arguments(const std::string& in, std::tuple<V...>& values) {
    byte_reader r{reinterpret_cast<const std::byte*>(in.data()), in.size()};
    bool ok = std::apply([&](V&... v) { return (get_value(r, v) && ...); }, values);
    return ok && r.left == 0;
}

/// The value of a reply, into `t` (or the worker's error, thrown).
template <class V, class Task>
void take_remote_result(Task& t, remote_wait& w) {
    if (w.error) std::rethrow_exception(w.error);
    if constexpr (std::is_void_v<V>) {
        if (!w.result.empty()) throw error("desync::distributed: a worker's reply is malformed");
        t.emplace();
    } else {
        V v{};
        if (!decode(std::as_bytes(std::span(w.result.data(), w.result.size())), v))
            throw error(
                "desync::distributed: a worker's result does not decode as this "
                "function's result type (do all ranks run the same build?)");
        t.emplace(std::move(v));
    }
}

}  // namespace desync::detail
