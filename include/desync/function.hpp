#pragma once
/// \file
/// Desync functions: `desync::desync(f, options...)`, `DESYNC_SOURCE`, `DESYNC_FN`, and the
/// split form `DESYNC_DECLARE` / `DESYNC_DEFINE` for recursion and header/source separation.

#include <desync/compose.hpp>
#include <desync/counters.hpp>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/call.hpp>
#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/traits.hpp>
#include <desync/detail/memo/hooks.hpp>
#include <desync/detail/version/normalize.hpp>
#include <desync/detail/version/registry.hpp>
#include <desync/hash.hpp>
#include <desync/lazy.hpp>
#include <desync/memo.hpp>
#include <desync/options.hpp>
#include <desync/version.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace desync {

namespace detail {

template <class F>
struct core_of final : fn_core {
    explicit core_of(F fn) : f(std::move(fn)) {}
    F f;
};

template <class F>
struct fn_invoker {
    using hooks = memo_hooks;
    using params = params_of_t<F>;
    /// The invoker of the function whose state is `c`.
    static fn_invoker from(fn_core& c) noexcept { return {&static_cast<core_of<F>&>(c).f}; }
    F* f;
    template <class... P>
    decltype(auto) operator()(P&&... p) const {
        return std::invoke(*f, std::forward<P>(p)...);
    }
};

/// A callable that carries its source text (made by DESYNC_SOURCE).
template <class F>
struct with_source {
    captured_source source;
    F callable;
};
template <class F>
with_source<std::decay_t<F>> make_with_source(captured_source s, F&& f) {
    return {s, std::forward<F>(f)};
}
template <class T>
struct is_with_source : std::false_type {};
template <class F>
struct is_with_source<with_source<F>> : std::true_type {};

/// Whether a captured text shows a body a version can cover: a lambda expression.
constexpr bool shows_body(std::string_view text) {
    std::size_t i = text.find_first_not_of(" \t\n");
    return i != std::string_view::npos && text[i] == '[';
}

DESYNC_DECL version current_version(fn_core& c);

DESYNC_DECL void set_base_version(fn_core& c, const version& old);

template <class P>
inline constexpr bool memo_param_ok = is_lazy_v<P> || hashable<std::remove_cvref_t<P>>;

template <class Params>
struct memo_params_ok : std::true_type {};  // a generic callable: checked per call instead
template <class... P>
struct memo_params_ok<param_list<P...>> : std::bool_constant<(memo_param_ok<P> && ...)> {};

/// A function that may be memoized (a stateless callable with its source, not uncached) must
/// take hashable parameters: say so where it is defined, not deep inside a call.
template <class F, class... Opts>
constexpr void check_memo_params() {
    constexpr bool opted_out = (std::is_same_v<std::remove_cvref_t<Opts>, uncached_t> || ...);
    if constexpr (!opted_out && std::is_empty_v<F>) {
        static_assert(memo_params_ok<params_of_t<F>>::value,
                      "desync: a memoized function's parameters must be hashable: give the "
                      "type hash_append() or desync_fields() (found by ADL), make it an "
                      "aggregate, or mark the function desync::uncached");
    }
}

template <class F, class... Opts>
void setup_core(fn_core& c, const captured_source& src, bool named, Opts&&... opts) {
    c.name = src.name;
    c.source = src.text;
    c.site = src.site;
    c.major_hash = src.major_hash;
    c.has_body_text = shows_body(src.text);
    c.stateless = std::is_empty_v<F>;
    c.named = named;
    (apply_option(c, std::forward<Opts>(opts)), ...);
    c.settle_memoizable();
    if (named || c.versioned()) c.name_hash = xxh3_64(c.qualified_name());
    if (named) {
        c.immortal = true;  // lives as long as the program: the registry refers to it
        registry::get().add(c);
    } else if (c.versioned()) {
        registry::get().add_unnamed(c);  // so that a run that called it can be verified
    }
}

/// Whether the options hold desync::distributed.
template <class... Opts>
inline constexpr bool has_distributed_v =
    (std::is_same_v<std::remove_cvref_t<Opts>, distributed_t> || ...);

/// What a call of F with parameters `Params` yields (void for an unknown parameter list).
template <class F, class Params>
struct value_of_call {
    using type = void;
};
template <class F, class... P>
struct value_of_call<F, param_list<P...>> {
    using type = std::remove_cvref_t<unwrap_lazy_t<std::invoke_result_t<F&, P...>>>;
};

/// A distributed function's calls travel between processes: its parameters and its result must
/// be values the cache codec encodes. Say so where it is defined, not deep inside a call.
template <class Params, class V>
constexpr bool check_distributed() {
    static_assert(!std::is_void_v<Params>,
                  "desync::distributed: the function's parameters must be known (a callable "
                  "with one call operator that is not a template: no auto parameters)");
    if constexpr (std::is_void_v<Params>) {
        return false;
    } else {
        static_assert(remote_params_ok<Params>::value,
                      "desync::distributed: every parameter must be a value the cache codec "
                      "encodes (see desync::detail::is_encodable_v: a default-constructible "
                      "aggregate or container of such, or a type with desync_fields()), not a "
                      "lazy, a view or a pointer");
        static_assert(remote_result_ok<V>(),
                      "desync::distributed: the result must be void or a value the cache codec "
                      "encodes (see desync::detail::is_encodable_v: a default-constructible "
                      "aggregate or container of such, or a type with desync_fields())");
        return remote_params_ok<Params>::value && remote_result_ok<V>();
    }
}

/// Answers a call made for another rank once it finished: its encoded value, or its error.
template <class T>
class answer_when_done final : public continuation {
public:
    answer_when_done(task_ref<result_task<T>> t, remote_answer& a) noexcept
        : task_(std::move(t)), answer_(&a) {}

    void fire() noexcept override {
        std::unique_ptr<answer_when_done> self(this);
        if (task_->failed()) return answer_->remote_failed(task_->take_error());
        std::string out;
        try {
            if constexpr (!std::is_void_v<T>) encode(out, task_->value());
        } catch (...) {  // out of memory
            return answer_->remote_failed(std::current_exception());
        }
        answer_->remote_done(std::move(out));
    }

private:
    task_ref<result_task<T>> task_;
    remote_answer* answer_;
};

/// How this process runs a call of a distributed function sent by another rank: decode its
/// arguments, make the call here (a root call, on the function's pool), answer once it finished.
template <class Invoker, class Params>
struct remote_server;
template <class Invoker, class... P>
struct remote_server<Invoker, param_list<P...>> {
    static void serve(fn_core& core, std::string args, remote_answer& answer) noexcept {
        try {
            std::tuple<std::remove_cvref_t<P>...> values;
            if (!decode_arguments(args, values))
                throw error(
                    "desync::distributed: a call's arguments do not decode as the function's "
                    "parameters (do all ranks run the same build?)");
            auto l = std::apply(
                [&](auto&... v) {
                    return make_call<param_list<P...>>(core, Invoker::from(core), call_options{},
                                                       std::move(v)...);
                },
                values);
            using T = typename decltype(l)::value_type;
            task_ref<result_task<T>> t = access::task(l);
            t->hand_on_error();  // its error goes back to the caller, not to this lazy's end
            auto* node = new answer_when_done<T>(t, answer);
            if (!t->add_continuation(node)) node->fire();
        } catch (...) {
            answer.remote_failed(std::current_exception());
        }
    }
};

/// Lists a distributed function, so that a worker can run its calls.
template <class Invoker, class Params, class V>
void add_distributed(fn_core& c) {
    if constexpr (check_distributed<Params, V>())
        distributed_functions().push_back({&c, &remote_server<Invoker, Params>::serve});
}

}  // namespace detail

/// What every desync function offers besides its call: its version, its memo tables, its
/// counters. `Derived` gives core(), the state its copies share.
template <class Derived>
class function_base {
public:
    /// The current version: hashes of this build's source, numbers relative to set_version.
    version get_version() const { return detail::current_version(core()); }
    /// Numbers this build's version relative to `old` (a version saved by an earlier build).
    void set_version(const version& old) const { detail::set_base_version(core(), old); }

    /// The name given to DESYNC_FN / DESYNC_DECLARE ("" for desync::desync(...) objects).
    std::string_view name() const noexcept { return core().name; }
    /// The name qualified by where it was defined ("ns::name"), as its version covers it.
    std::string qualified_name() const { return core().qualified_name(); }

    /// What the call trees rooted at this function recorded so far, hits included (a snapshot).
    cache get_cache() const { return detail::get_cache(core()); }
    /// Installs `c` in place of the installed cache: calls in this function's trees whose
    /// results it holds return them without running. Safe while calls run.
    void set_cache(const cache& c) const { detail::set_cache(core(), c); }
    /// Forgets what this function's trees recorded and what was installed: the next run
    /// records afresh and runs every call.
    void clear_cache() const { detail::clear_cache(core()); }
    /// Gives this function's call trees the store `s` (docs/stores.md): their memoizable calls
    /// look in memory, then in `s`; a miss runs and its result is written to `s` behind it.
    /// An empty handle (`set_store({})`): no store. Safe while calls run.
    void set_store(const store& s) const { detail::set_store(core(), s); }
    /// Bounds this function's memo table (0: no bound); what no longer fits is evicted.
    void set_cache_limit(const cache_limit& limit) const { detail::set_cache_limit(core(), limit); }
    /// What happened to this function's calls while counting was on (see desync/trace.hpp).
    desync::call_counters counters() const noexcept {
        return detail::read_counters(core().counters);
    }

private:
    detail::fn_core& core() const noexcept { return static_cast<const Derived&>(*this).core(); }
};

/// A desync function: calling it starts a call and returns a lazy at once. Copies share one
/// state (version, memo tables). Made by desync::desync(...) or DESYNC_FN.
template <class F>
class fn : public function_base<fn<F>> {
public:
    /// The wrapped callable's type.
    using callable_type = F;

    /// Starts a call. Lazy arguments are dataflow inputs: the call starts once they are ready
    /// and receives their values (unless the parameter itself is a lazy). Leading
    /// desync::after(...) and desync::needs{...} arguments are options of this call.
    template <class... A>
    DESYNC_DETAIL_ALWAYS_INLINE auto operator()(A&&... a) const {
        return detail::make_call<detail::params_of_t<F>>(*core_, invoker(), detail::call_options{},
                                                         std::forward<A>(a)...);
    }

    explicit fn(detail::core_ref core) noexcept : core_(std::move(core)) {}
    /// Internal: the shared state.
    detail::fn_core& core() const noexcept { return *core_.get(); }

private:
    detail::fn_invoker<F> invoker() const noexcept {
        return {&static_cast<detail::core_of<F>*>(core_.get())->f};
    }
    detail::core_ref core_;
};

/// Wraps any callable (a lambda, a function pointer, a function object) as a desync function.
/// Wrapped in DESYNC_SOURCE(...) a lambda carries its source, and so a version and a memo
/// table; without a source the function runs desynchronised but is never memoized.
template <class F, detail::option... Opts>
auto desync(F&& f, Opts&&... opts) {
    using raw = std::remove_cvref_t<F>;
    static_assert(!detail::is_desync_function_v<raw>,
                  "desync::desync: this is already a desync function");
    static_assert(!detail::has_distributed_v<Opts...>,
                  "desync::distributed: only a function defined with DESYNC_FN or DESYNC_DEFINE "
                  "can be distributed (its name is how the other ranks find its body)");
    if constexpr (detail::is_with_source<raw>::value) {
        using callable = decltype(f.callable);
        detail::check_memo_params<callable, Opts...>();
        auto* c = new detail::core_of<callable>(std::forward<F>(f).callable);
        detail::setup_core<callable>(*c, f.source, false, std::forward<Opts>(opts)...);
        return fn<callable>(detail::core_ref(c));
    } else {
        auto* c = new detail::core_of<raw>(std::forward<F>(f));
        detail::setup_core<raw>(*c, detail::captured_source{}, false, std::forward<Opts>(opts)...);
        return fn<raw>(detail::core_ref(c));
    }
}

/// A function declared with DESYNC_DECLARE(name, R(Args...)): its type fixes the signature so
/// that a body may name it before it is defined (recursion, header/source separation).
template <class Decl, class Sig>
class declared;

namespace detail {

/// The state of a declared function, reachable from every translation unit through Decl.
template <class Sig>
struct typed_core;
template <class R, class... Args>
struct typed_core<R(Args...)> : fn_core {
    virtual R invoke(Args... args) = 0;
};

template <class Sig, class F>
struct declared_core;
template <class R, class... Args, class F>
struct declared_core<R(Args...), F> final : typed_core<R(Args...)> {
    explicit declared_core(F fn) : f(std::move(fn)) {}
    R invoke(Args... args) override { return std::invoke(f, std::forward<Args>(args)...); }
    F f;
};

template <class Sig>
struct declared_invoker;
template <class R, class... Args>
struct declared_invoker<R(Args...)> {
    using hooks = memo_hooks;
    using params = param_list<Args...>;
    static declared_invoker from(fn_core& c) noexcept {
        return {&static_cast<typed_core<R(Args...)>&>(c)};
    }
    typed_core<R(Args...)>* core;
    R operator()(Args... args) const { return core->invoke(std::forward<Args>(args)...); }
};

template <class Sig, class F, class... Opts>
typed_core<Sig>& make_declared_core(const captured_source& src, F&& f, Opts&&... opts) {
    using callable = std::decay_t<F>;
    static_assert(memo_params_ok<params_of_t<Sig>>::value ||
                      (std::is_same_v<std::remove_cvref_t<Opts>, uncached_t> || ...),
                  "desync: a memoized function's parameters must be hashable: give the type "
                  "hash_append() or desync_fields() (found by ADL), make it an aggregate, or "
                  "mark the function desync::uncached");
    auto* c = new declared_core<Sig, callable>(std::forward<F>(f));
    setup_core<callable>(*c, src, true, std::forward<Opts>(opts)...);
    if constexpr (has_distributed_v<Opts...>)
        add_distributed<declared_invoker<Sig>, params_of_t<Sig>,
                        typename value_of_call<Sig, params_of_t<Sig>>::type>(*c);
    return *c;
}

template <class F, class... Opts>
auto make_named_fn(const captured_source& src, F&& f, Opts&&... opts) {
    using callable = std::decay_t<F>;
    check_memo_params<callable, Opts...>();
    auto* c = new core_of<callable>(std::forward<F>(f));
    setup_core<callable>(*c, src, true, std::forward<Opts>(opts)...);
    if constexpr (has_distributed_v<Opts...>)
        add_distributed<fn_invoker<callable>, params_of_t<callable>,
                        typename value_of_call<callable, params_of_t<callable>>::type>(*c);
    return fn<callable>(core_ref(c));
}

template <class F>
struct is_desync_function<fn<F>> : std::true_type {};
template <class Decl, class Sig>
struct is_desync_function<declared<Decl, Sig>> : std::true_type {};

}  // namespace detail

template <class Decl, class R, class... Args>
class declared<Decl, R(Args...)> : public function_base<declared<Decl, R(Args...)>> {
public:
    /// The declared signature.
    using signature = R(Args...);

    /// Starts a call (see fn::operator()).
    template <class... A>
    DESYNC_DETAIL_ALWAYS_INLINE auto operator()(A&&... a) const {
        return detail::make_call<detail::param_list<Args...>>(
            Decl::core(), invoker(), detail::call_options{}, std::forward<A>(a)...);
    }

    /// Internal: the shared state.
    detail::fn_core& core() const { return Decl::core(); }

private:
    static detail::declared_invoker<R(Args...)> invoker() { return {&Decl::core()}; }
};

}  // namespace desync

/// Where the macro expands: the scope and file that qualify a function's name.
#define DESYNC_DETAIL_SITE() ::desync::detail::site_of(DESYNC_DETAIL_SCOPE_PROBE(), __FILE__)

/// The captured text of a callable defined at `site`, and its major hash, forced to compile
/// time. Callers stringify with # themselves, so that macros inside a body are hashed as written.
#define DESYNC_DETAIL_SOURCE_AT(site, name_text, text)                                             \
    ::desync::detail::captured_source {                                                            \
        name_text, text,                                                                           \
            ::std::integral_constant<::std::uint64_t,                                              \
                                     ::desync::detail::source_hash(site, name_text, text)>::value, \
            site                                                                                   \
    }

/// A lambda that carries its source text, for desync::desync(DESYNC_SOURCE([](...) { ... })).
#define DESYNC_SOURCE(...)              \
    ::desync::detail::make_with_source( \
        DESYNC_DETAIL_SOURCE_AT(DESYNC_DETAIL_SITE(), "", #__VA_ARGS__), __VA_ARGS__)

/// Defines, at namespace scope, the desync function `name` from a callable and options.
#define DESYNC_FN(name, ...)                                  \
    inline const auto name = ::desync::detail::make_named_fn( \
        DESYNC_DETAIL_SOURCE_AT(DESYNC_DETAIL_SITE(), #name, #__VA_ARGS__), __VA_ARGS__)

/// Declares the desync function `name` with signature `R(Args...)` (define it with
/// DESYNC_DEFINE in one source file); bodies may name it before the definition.
#define DESYNC_DECLARE(name, ...)                                 \
    struct name##_desync_decl {                                   \
        static ::desync::detail::typed_core<__VA_ARGS__>& core(); \
    };                                                            \
    inline constexpr ::desync::declared<name##_desync_decl, __VA_ARGS__> name {}

/// Defines a function declared with DESYNC_DECLARE, from a callable and options.
#define DESYNC_DEFINE(name, ...)                                                             \
    [[maybe_unused]] static constexpr ::desync::detail::definition_site name##_desync_site = \
        DESYNC_DETAIL_SITE();                                                                \
    ::desync::detail::typed_core<::std::remove_cvref_t<decltype(name)>::signature>&          \
        name##_desync_decl::core() {                                                         \
        static auto& c = ::desync::detail::make_declared_core<                               \
            ::std::remove_cvref_t<decltype(name)>::signature>(                               \
            DESYNC_DETAIL_SOURCE_AT(name##_desync_site, #name, #__VA_ARGS__), __VA_ARGS__);  \
        return c;                                                                            \
    }                                                                                        \
    [[maybe_unused]] static const bool name##_desync_registered = (name##_desync_decl::core(), true)

#if DESYNC_HEADER_ONLY
#include <desync/function.ipp>
#endif
