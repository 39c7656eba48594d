#pragma once
// One call of a desync function: its stored arguments (values, or inputs from other calls),
// the edges that start it when those inputs are ready, and the run of its body inside a scope
// that joins every call the body makes.

#include <desync/detail/core/attributes.hpp>

#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/hooks.hpp>
#include <desync/detail/core/run.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/error.hpp>
#include <desync/resources.hpp>
#include <desync/scheduler.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace desync::detail {

/// The value the body receives for a stored argument: an input's shared value, or the
/// stored value itself, moved (each call runs once).
template <class S>
passed_t<S> pass_arg(S& stored) noexcept {
    if constexpr (is_input_v<S>)
        return stored.task->value();
    else
        return std::move(stored);
}

/// An edge that tells a call that one of the calls it comes after (desync::after) finished.
struct order_edge final : continuation {
    task_base* owner = nullptr;
    void (*done)(task_base& owner) noexcept = nullptr;
    void fire() noexcept override { done(*owner); }
};

/// How a call waits for units (desync::needs): told when they are granted.
struct unit_waiter final : resource_waiter {
    task_base* owner = nullptr;
    void (*on_granted)(task_base& owner) noexcept = nullptr;
    void granted() noexcept override { on_granted(*owner); }
};

/// What a call is given besides its arguments: calls to wait for (desync::after) and units to
/// hold while it runs (desync::needs). Most calls have neither, and then hold no memory: the
/// options pass through several calls by value, and a hit returns before using them. What only
/// such calls need while they wait lives here too, not in every call's task.
struct call_options {
    struct extras {
        ordering order;
        resource_request res;
        std::unique_ptr<order_edge[]> order_edges;  // one per call it comes after, once started
        unit_waiter waiter;                         // while it waits for units
        std::unique_ptr<call_attachment> attached;  // the layers' (a call that ran elsewhere)
    };
    std::unique_ptr<extras> x;  // null: no ordering, no units, nothing attached

    call_options() noexcept = default;
    call_options(ordering order, resource_request res) : x(std::make_unique<extras>()) {
        x->order = std::move(order);
        x->res = std::move(res);
    }

    /// The options, to be added to.
    extras& extra() {
        if (!x) x = std::make_unique<extras>();
        return *x;
    }
    std::size_t order_size() const noexcept { return x ? x->order.size() : 0; }
    bool has_res() const noexcept { return x && !x->res.empty(); }
    /// The calls it comes after (none without options).
    std::span<const task_ref<>> order() const noexcept {
        if (!x) return {};
        return x->order.tasks;
    }
};

template <class R>
struct flattened {
    struct none {};
    using type = none;
};
template <class T>
struct flattened<lazy<T>> {
    using type = task_ref<result_task<T>>;
};

/// The executor a call of `core` runs on.
DESYNC_DECL executor_slot& executor_for(const fn_core& core);

/// Whether an invoker is a view of its function's state, made again from it when the call runs
/// (desync functions' invokers), so that a call need not store it.
template <class Invoker>
concept invoker_from_core = requires(fn_core& c) {
    { Invoker::from(c) }
    noexcept->std::same_as<Invoker>;
};

/// Where a call keeps its invoker: nowhere when the function's state gives it.
template <class Invoker>
struct stored_invoker {
    explicit stored_invoker(Invoker inv) : inv_(std::in_place, std::move(inv)) {}
    Invoker& get(fn_core&) noexcept { return inv_.get(); }

private:
    box<Invoker> inv_;
};
template <invoker_from_core Invoker>
struct stored_invoker<Invoker> {
    explicit stored_invoker(Invoker) noexcept {}
    Invoker get(fn_core& core) const noexcept { return Invoker::from(core); }
};

/// A call of `Invoker` with arguments stored as `S...`. A pending call of a function of a word
/// (a `long` to a `long`) is 120 bytes: a 128-byte heap chunk (docs/calls.md).
template <class Invoker, class... S>
class call_task final : public result_task<call_value_t<Invoker, S...>> {
public:
    using hooks = hooks_of_t<Invoker>;
    using invoker_type = Invoker;
    using raw_result = call_result_t<Invoker, S...>;
    using value_type = call_value_t<Invoker, S...>;
    static constexpr std::size_t input_count = (std::size_t{0} + ... + (is_input_v<S> ? 1 : 0));

    template <class... A>
    call_task(core_ref callee, Invoker inv, call_options opts, A&&... a)
        : result_task<value_type>(
              input_count + opts.order_size() || opts.has_res() || callee->distributed
                  ? task_state::pending  // a distributed call may go elsewhere first
                  : task_state::queued),
          callee_(std::move(callee)),
          inv_(std::move(inv)),
          args_(std::in_place, std::forward<A>(a)...),
          opts_(std::move(opts)) {
        if (callee_->distributed) opts_.extra();  // its reply is attached before it is queued
    }

    fn_core& callee() const noexcept { return *callee_.get(); }
    const std::tuple<S...>& args() const noexcept { return args_.get(); }
    executor_slot* executor() const noexcept override { return &executor_for(callee()); }

    /// What a layer attached to this call, or nullptr.
    call_attachment* attached() const noexcept {
        return opts_.x ? opts_.x->attached.get() : nullptr;
    }
    /// Attaches `a` (a call of a desync::distributed function only: its options exist).
    void attach(std::unique_ptr<call_attachment> a) noexcept { opts_.x->attached = std::move(a); }
    /// Takes back what was attached.
    std::unique_ptr<call_attachment> detach_attached() noexcept {
        return opts_.x ? std::move(opts_.x->attached) : nullptr;
    }

    /// Per-call state of its hooks (the memo layer's: its key once computed).
    [[no_unique_address]] typename hooks::state memo;

    /// Starts the call: straight onto its executor, or once its inputs are ready.
    void start() {
        if (this->state(std::memory_order_relaxed) == task_state::queued) return submit();
        std::span<const task_ref<>> const order = opts_.order();
        pending_.store(static_cast<int>(input_count + order.size()) + 1, std::memory_order_relaxed);
        if (trace_hook::on()) {  // before arming: an armed edge may start the call at once
            for_each_input([&](task_base* in) { trace_hook::get().input(*in, *this); });
            for (auto& t : order) trace_hook::get().input(*t, *this);
        }
        order_edge* order_edges = nullptr;
        if (!order.empty()) {
            opts_.x->order_edges = std::make_unique<order_edge[]>(order.size());
            order_edges = opts_.x->order_edges.get();
        }
        std::size_t i = 0;
        for_each_input([&](task_base* in) { watch(in, input_edges_[i++]); });
        for (std::size_t k = 0; k < order.size(); ++k) watch(order[k].get(), order_edges[k]);
        input_done();  // the start's own count, so no input can start the call while arming
    }

    void execute() noexcept override {
        scope sc([](task_base& child) noexcept { hooks::joined(child); });
        tl_frame.sc = &sc;
        const bool traced = trace_hook::on();
        if (traced) trace_hook::get().begin(*this);
        auto const started = hooks::on_start(*this);
        std::vector<std::exception_ptr> errors;
        try {
            run_body();
        } catch (...) {
            errors.push_back(std::current_exception());
        }
        tl_frame.sc = nullptr;
        if (traced) trace_hook::get().joining(*this);
        auto unread = sc.join();
        if (errors.empty())
            errors = std::move(unread);
        else
            errors.insert(errors.end(), unread.begin(), unread.end());
        if (!errors.empty())
            this->set_error(combine_errors(std::move(errors)));
        else
            take_flattened();
        if (opts_.has_res()) release_units(opts_.x->res);  // even when the body threw
        hooks::on_finish(*this, started);
        if (traced)
            trace_hook::get().end(*this, &callee(), hooks::key_of(*this), hooks::unrecorded(*this));
    }

    /// The reply of a call that ran elsewhere came (its hooks hold it): queue the call, whose
    /// run takes that reply in place of its body. Units are not held for a call run elsewhere.
    /// Holds a reference of its own: once queued, a waiter may run the call, which drops the
    /// reply and the reference the reply held, before submit() returns.
    void resume_remote() noexcept {
        task_ref<> self = task_ref<>::share(this);
        if (opts_.x) opts_.x->res = resource_request{};
        queue_now();
    }

    task_base* unfinished_input() noexcept override {
        task_base* found = nullptr;
        auto check = [&](task_base* in) {
            if (!found && !in->done()) found = in;
        };
        for_each_input(check);
        for (auto& t : opts_.order()) check(t.get());
        return found;
    }

private:
    struct edge final : continuation {
        call_task* owner = nullptr;
        void fire() noexcept override { owner->input_done(); }
    };

    void submit() {
        this->retain();  // the executor's reference
        try {
            this->executor()->submit(this);
        } catch (...) {
            this->release();
            throw;
        }
    }

    template <class Fn>
    void for_each_input(Fn&& fn) {
        std::apply([&](auto&... s) { (visit_input(s, fn), ...); }, args_.get());
    }
    template <class One, class Fn>
    static void visit_input(One& one, Fn& fn) {
        if constexpr (is_input_v<One>) fn(one.task.get());
    }

    void watch(task_base* in, edge& e) {
        e.owner = this;
        arm(in, e);
    }
    void watch(task_base* in, order_edge& e) {
        e.owner = this;
        e.done = [](task_base& t) noexcept { static_cast<call_task&>(t).input_done(); };
        arm(in, e);
    }
    // `e` tells this call when `in` finished (at once if it has).
    void arm(task_base* in, continuation& e) {
        if (!in->add_continuation(&e)) input_done();
    }

    void input_done() noexcept {
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) inputs_ready();
    }

    // Runs on the thread that finished the last input. A waiter may release this task as soon
    // as it reads `done`, so finishing here holds a reference of its own.
    void inputs_ready() noexcept {
        task_ref<> self = task_ref<>::share(this);
        if (auto e = first_input_error()) return fail(std::move(e));
        // A hit finishes the call here (the memo hooks tell the tracer first).
        if ((input_count || opts_.order_size()) && hooks::try_finish_early(*this)) return;
        // A desync::distributed call may run elsewhere: its reply queues it (resume_remote).
        if (callee().distributed && hooks::send_remote(*this)) return;
        if (opts_.has_res()) {
            unit_waiter& w = opts_.x->waiter;
            w.owner = this;
            w.on_granted = [](task_base& t) noexcept { static_cast<call_task&>(t).granted(); };
            try {
                if (!acquire_units(opts_.x->res, &w)) return;  // granted() later
            } catch (...) {
                return fail(std::current_exception());
            }
        }
        queue_now();
    }

    // Units held, granted on the thread that released them: queue the call. The reference held
    // here keeps the call alive until submit() returns: once queued, a waiter may run it and
    // its parent release it.
    void granted() noexcept {
        task_ref<> self = task_ref<>::share(this);
        queue_now();
    }

    // Inputs ready and units held: queue the call on its executor. The caller holds a reference.
    void queue_now() noexcept {
        if (!this->make_queued()) return;
        try {
            submit();
        } catch (...) {  // out of memory while queueing: fail the call rather than lose it
            if (opts_.has_res()) release_units(opts_.x->res);
            fail(std::current_exception());
        }
    }

    // Finishes the call with an error without running it (a failed input, no room, no memory).
    void fail(std::exception_ptr e) noexcept {
        if (trace_hook::on())
            trace_hook::get().finished_early(*this, &callee(), hooks::key_of(*this), false);
        this->set_error(std::move(e));
        this->complete();
    }

    std::exception_ptr first_input_error() {
        std::exception_ptr e;
        for_each_input([&](task_base* in) {
            if (!e && in->failed()) e = in->error();
        });
        if (opts_.x && opts_.x->order.propagate_errors)
            for (auto& t : opts_.order())
                if (!e && t->failed()) e = t->error();
        return e;
    }

    void run_body() {
        if (hooks::take_remote(*this)) return;  // it ran elsewhere: its result, or its error
        auto call = [this](auto&... s) -> raw_result {
            return std::invoke(inv_.get(callee()), pass_arg(s)...);
        };
        if constexpr (std::is_void_v<raw_result>) {
            std::apply(call, args_.get());
            this->emplace();
        } else if constexpr (is_lazy_v<raw_result>) {
            auto returned = std::apply(call, args_.get());
            flattened_ = access::task(returned);
            if (!flattened_) throw error("desync: a body returned an empty lazy");
            flattened_->hand_on_error();
        } else {
            this->emplace(std::apply(call, args_.get()));
        }
    }

    // A body that returned a lazy yields that lazy's value (no lazy<lazy<T>>).
    void take_flattened() noexcept {
        if constexpr (is_lazy_v<raw_result>) {
            if (!flattened_) return;  // the value came from elsewhere
            wait_for(flattened_.get());
            if (flattened_->failed()) return this->set_error(flattened_->error());
            try {
                if constexpr (std::is_void_v<value_type>)
                    this->emplace();
                else
                    this->emplace(flattened_->value());
            } catch (...) {
                this->set_error(std::current_exception());
            }
            flattened_ = {};
        }
    }

    core_ref callee_;
    [[no_unique_address]] stored_invoker<Invoker> inv_;
    box<std::tuple<S...>> args_;
    call_options opts_;  // the calls it comes after and the units it needs (most: neither)
    [[no_unique_address]] std::array<edge, input_count> input_edges_{};
    std::atomic<int> pending_{0};
    [[no_unique_address]] typename flattened<raw_result>::type flattened_{};
};

/// Converts an argument to its stored form. A lazy that becomes an input or is passed on
/// hands its error to this call: the call reports it, so its own join will not.
template <class S, class A>
S make_stored(A&& a) {
    if constexpr (is_input_v<S>) {
        auto& t = access::task(a);
        if (!t) throw error("desync: an empty lazy was passed as an argument");
        t->hand_on_error();
        return S{t};
    } else {
        if constexpr (is_lazy_v<A>) {
            if (auto& t = access::task(a)) t->hand_on_error();
        }
        return S(std::forward<A>(a));
    }
}

/// An argument as the call will store it, for the memo probe: itself when the types agree,
/// else converted (a string literal given to a std::string parameter).
template <class S, class A>
decltype(auto) as_stored(const A& a) {
    if constexpr (std::is_same_v<S, std::decay_t<A>>)
        return (a);
    else
        return S(a);
}

/// Makes a call's task, registers it with the running body (or makes it a root call) and
/// starts it: every call that the memo table did not answer.
template <class Params, class Invoker, std::size_t... I, class... A>
DESYNC_DETAIL_NOINLINE auto start_call(std::index_sequence<I...>, fn_core& core, bool root,
                                       Invoker inv, call_options opts, A&&... a) {
    using task_t = call_task<Invoker, stored_t<Params, I, A>...>;
    using value_t = typename task_t::value_type;
    using hooks = typename task_t::hooks;
    task_ref<task_t> t(new task_t(core_ref::share(&core), std::move(inv), std::move(opts),
                                  make_stored<stored_t<Params, I, A>>(std::forward<A>(a))...));
    t->set_root(root ? &core : tl_frame.root, root);
    if (!root) {
        tl_frame.sc->adopt(t.get());
        hooks::on_spawned(*t);  // after adopt: a registered call is always joined
    }
    if (trace_hook::on()) trace_hook::get().spawned(*t, core, tl_frame.task);
    auto result = access::make<value_t>(task_ref<result_task<value_t>>(t.detach()));
    auto* started = static_cast<task_t*>(access::task(result).get());
    try {
        started->start();
    } catch (...) {  // out of memory while queueing: the caller sees it, the join must not wait
        started->hand_on_error();
        started->set_error(std::current_exception());
        started->complete();
        throw;
    }
    return result;
}

/// A call: answered by the memo table where it can be (inline at the call site, so that a
/// function called from many places hits as fast as one called from one), else started.
template <class Params, class Invoker, std::size_t... I, class... A>
DESYNC_DETAIL_ALWAYS_INLINE auto spawn_indexed(std::index_sequence<I...> seq, fn_core& core,
                                               Invoker inv, call_options&& opts, A&&... a) {
    using task_t = call_task<Invoker, stored_t<Params, I, A>...>;
    using value_t = typename task_t::value_type;
    using hooks = typename task_t::hooks;
    const bool root = tl_frame.sc == nullptr;
    if (core.resolve_default_needs && !opts.has_res())
        opts.extra().res = core.resolve_default_needs(*core.default_needs);
    if constexpr (hooks::probes && task_t::input_count == 0 &&
                  (std::is_constructible_v<stored_t<Params, I, A>, const A&> && ...)) {
        if (!root && opts.order_size() == 0)
            if (auto hit = hooks::template probe_values<value_t, stored_t<Params, I, A>...>(
                    core, tl_frame.root, as_stored<stored_t<Params, I, A>>(a)...);
                hit.valid())
                return hit;
    }
    return start_call<Params>(seq, core, root, std::move(inv), std::move(opts),
                              std::forward<A>(a)...);
}

/// Makes a call: stores the arguments, registers it with the running body (or makes it a root
/// call), and starts it. `Params` is the callable's parameter list when known (void if not).
template <class Params, class Invoker, class... A>
DESYNC_DETAIL_ALWAYS_INLINE auto spawn_with(fn_core& callee, Invoker inv, call_options&& opts,
                                            A&&... a) {
    return spawn_indexed<Params>(std::index_sequence_for<A...>{}, callee, std::move(inv),
                                 std::move(opts), std::forward<A>(a)...);
}

template <class Params, class Invoker, class... A>
DESYNC_DETAIL_ALWAYS_INLINE auto spawn(fn_core& callee, Invoker inv, A&&... a) {
    return spawn_with<Params>(callee, std::move(inv), call_options{}, std::forward<A>(a)...);
}

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/core/call.ipp>
#endif
