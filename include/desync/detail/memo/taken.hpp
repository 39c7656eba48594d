#pragma once
// What a memo hit hands to the call it answers: the value taken out of a table (a copy of a small
// value, or a share of a large one), the lazy that holds it, and the calls that finish from an
// identical call in flight (share_results).

#include <desync/detail/core/run.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/detail/memo/key.hpp>
#include <desync/detail/memo/quick.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/lazy.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
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

    void operator()(const memo_value& v) {
        if constexpr (copied)
            held_.emplace(static_cast<const typed_value<V>&>(v).value);
        else
            held_ = value_ptr(&v);
    }
    /// The bytes of a quick value, for its cell.
    static quick_bytes bytes_of(const memo_value& v) noexcept requires quick {
        quick_bytes b = 0;
        std::memcpy(&b, &static_cast<const typed_value<V>&>(v).value, sizeof(V));
        return b;
    }
    /// Takes a quick value from the bytes of its cell.
    void operator()(const quick_bytes& b) noexcept requires quick {
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
    void operator()(const memo_value&) noexcept {}
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
                     std::span<const hash128> children, const dep_set* deps) {
    if constexpr (std::is_void_v<V>)
        return make_result<V>(key_list(children), deps, callee, took_ns, 0);
    else
        return make_result<V>(key_list(children), deps, callee, took_ns, size_estimate(t.value()),
                              t.value());
}

}  // namespace desync::detail
