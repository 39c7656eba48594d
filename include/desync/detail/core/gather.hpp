#pragma once
// Tasks that combine other tasks without a body: gather (when_all, batch::begin) finishes when
// all its inputs have; race (when_any) when the first has; a gate is opened or cancelled by
// hand (batch). None is ever queued: they finish on the thread that finished their input.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/run.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/error.hpp>
#include <desync/scheduler.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace desync::detail {

template <class T>
using slot_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
slot_t<T> slot_value(const task_ref<>& t) {
    if constexpr (std::is_void_v<T>)
        return std::monostate{};
    else
        return static_cast<result_task<T>*>(t.get())->value();
}

/// The task of a lazy, checked.
template <class T>
task_ref<> raw_task(const lazy<T>& l) {
    const auto& t = access::task(l);
    if (!t) throw error("desync: an empty lazy was given where a call was expected");
    return t;
}
/// The task of a lazy whose error the new task will report.
template <class T>
task_ref<> input_task(const lazy<T>& l) {
    auto t = raw_task(l);
    t->hand_on_error();
    return t;
}

/// One edge per input; it keeps its owner alive until it fires.
template <class Owner>
struct indexed_edge final : continuation {
    Owner* owner = nullptr;
    std::size_t index = 0;
    void fire() noexcept override {
        Owner* o = owner;
        o->input_done(index);
        o->release();
    }
};

template <class Derived, class R>
class combinator : public result_task<R> {
public:
    void execute() noexcept override {}  // never queued

protected:
    explicit combinator(std::vector<task_ref<>> inputs)
        : result_task<R>(task_state::pending), inputs_(std::move(inputs)), edges_(inputs_.size()) {}

    void arm() {
        for (std::size_t i = 0; i < inputs_.size(); ++i) {
            edges_[i].owner = static_cast<Derived*>(this);
            edges_[i].index = i;
            this->retain();
            if (!inputs_[i]->add_continuation(&edges_[i])) edges_[i].fire();
        }
    }

    template <class Make>
    void finish_with(Make&& make) noexcept {
        try {
            if constexpr (std::is_void_v<R>) {
                make();
                this->emplace();
            } else {
                this->emplace(make());
            }
        } catch (...) {
            this->set_error(std::current_exception());
        }
        this->complete();
    }

    std::vector<task_ref<>> inputs_;
    std::vector<indexed_edge<Derived>> edges_;
};

template <class R, class Build>
class gather_task final : public combinator<gather_task<R, Build>, R> {
    using base = combinator<gather_task<R, Build>, R>;

public:
    gather_task(std::vector<task_ref<>> inputs, Build build)
        : base(std::move(inputs)), build_(std::move(build)) {}

    void start() {
        pending_.store(static_cast<int>(this->inputs_.size()) + 1, std::memory_order_relaxed);
        this->arm();
        this->retain();
        input_done(0);  // the start's own count
        this->release();
    }

    void input_done(std::size_t) noexcept {
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        std::vector<std::exception_ptr> errors;
        for (const auto& t : this->inputs_)
            if (t->failed()) errors.push_back(t->error());
        if (!errors.empty()) {
            this->set_error(combine_errors(std::move(errors)));
            this->complete();
            return;
        }
        this->finish_with([&] { return build_(this->inputs_); });
    }

    task_base* unfinished_input() noexcept override {
        for (const auto& t : this->inputs_)
            if (!t->done()) return t.get();
        return nullptr;
    }

private:
    Build build_;
    std::atomic<int> pending_{0};
};

template <class R, class Pick>
class race_task final : public combinator<race_task<R, Pick>, R> {
    using base = combinator<race_task<R, Pick>, R>;

public:
    race_task(std::vector<task_ref<>> inputs, Pick pick)
        : base(std::move(inputs)), pick_(std::move(pick)) {}

    void start() { this->arm(); }

    void input_done(std::size_t i) noexcept {
        if (won_.exchange(true, std::memory_order_acq_rel)) return;
        const task_ref<>& t = this->inputs_[i];
        if (t->failed()) {
            t->hand_on_error();  // the first to finish failed: this result reports it
            this->set_error(t->error());
            this->complete();
            return;
        }
        this->finish_with([&] { return pick_(i, t); });
    }

    // Help only with an input this thread may run now; otherwise sleep on the race itself,
    // which wakes at the first input to finish.
    task_base* unfinished_input() noexcept override {
        for (const auto& t : this->inputs_)
            if (t->state() == task_state::queued && t->executor() &&
                t->executor()->claimable_here())
                return t.get();
        return nullptr;
    }

private:
    Pick pick_;
    std::atomic<bool> won_{false};
};

/// Registers a combinator with the running body (or makes it a root) and starts it.
template <class R, class Task>
lazy<R> start_combinator(Task* t) {
    const bool root = tl_frame.sc == nullptr;
    t->set_root(root ? nullptr : tl_frame.root, root);
    if (!root) tl_frame.sc->adopt(t);
    auto result = access::make<R>(task_ref<result_task<R>>(t));
    t->start();
    return result;
}

template <class R, class Build>
lazy<R> make_gather(std::vector<task_ref<>> inputs, Build build) {
    return start_combinator<R>(new gather_task<R, Build>(std::move(inputs), std::move(build)));
}

template <class R, class Pick>
lazy<R> make_race(std::vector<task_ref<>> inputs, Pick pick) {
    return start_combinator<R>(new race_task<R, Pick>(std::move(inputs), std::move(pick)));
}

/// A task opened or cancelled by hand.
class gate_task final : public result_task<void> {
public:
    gate_task() : result_task<void>(task_state::pending) {}
    void execute() noexcept override {}
};

DESYNC_DECL task_ref<> make_gate();
DESYNC_DECL void open_gate(task_ref<> g);
DESYNC_DECL void cancel_gate(task_ref<> g) noexcept;

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/core/gather.ipp>
#endif
