#pragma once
// The run-time state every desync function shares between its copies: name and source (for its
// version), options (where it runs, whether it may be memoized), version and memo state.

#include <desync/detail/core/attributes.hpp>

#include <desync/detail/core/task.hpp>
#include <desync/resources.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace desync::detail {

class executor_slot;
class memo_table;
class memo_store;

/// Where a function was defined: the enclosing scope as the compiler names it ("ns::" in a
/// namespace, "" at global scope, "main()::" in a function) and, in an anonymous namespace,
/// the source file's name (two files may each define a function of one name there).
struct definition_site {
    std::string_view scope;
    std::string_view file;
};

/// The text a macro captured: the function's name (may be empty), the stringified callable and
/// where it was defined (its scope, which qualifies the name).
struct captured_source {
    std::string_view name;
    std::string_view text;
    std::uint64_t major_hash = 0;  // constexpr-computed by the macro from site, name and text
    definition_site site{};
};

/// Something a function depends on that its text cannot show (desync::uses): another
/// desync function, or a value hashed like an argument when the version is resolved.
struct use_entry {
    fn_core* fn = nullptr;
    std::function<std::uint64_t()> value_hash;  // set for values
    std::shared_ptr<const void> keep_alive;     // the value's copy, or a dynamic function's core
};

/// What happened to a function's calls, counted while counting is on (see trace.hpp).
struct fn_counters {
    std::atomic<std::uint64_t> calls{0};         // calls made (hits included)
    std::atomic<std::uint64_t> hits{0};          // skipped: the memo table held the result
    std::atomic<std::uint64_t> misses{0};        // memoizable calls that ran
    std::atomic<std::uint64_t> failed{0};        // calls that finished with an error
    std::atomic<std::uint64_t> saved_ns{0};      // recorded run time of the calls hits skipped
    std::atomic<std::uint64_t> not_recorded{0};  // ran, but their result could not be recorded
};

struct fn_core;

/// Set by the registry: forgets a registered function that goes (DESYNC_SOURCE objects).
inline void (*core_gone)(fn_core&) noexcept = nullptr;

struct fn_core {
    fn_core() = default;
    fn_core(const fn_core&) = delete;
    fn_core& operator=(const fn_core&) = delete;
    virtual ~fn_core() = default;

    // --- identity, from the macro or DESYNC_SOURCE
    std::string_view name;
    std::string_view source;  // the callable's text; empty when it has none
    definition_site site;     // where it was defined: qualifies its name
    std::uint64_t major_hash = 0;
    std::uint64_t name_hash = 0;  // XXH3-64 of the qualified name
    bool has_body_text = false;   // the text shows a body (a lambda), so a version can cover it
    bool stateless = false;       // the callable holds no state of its own
    bool named = false;           // DESYNC_FN / DESYNC_DEFINE: found by name from other bodies
    bool transparent = false;     // desync::async and then: its code is its caller's

    // --- options
    bool uncached = false;
    bool share_results = false;
    bool blocking = false;
    bool distributed = false;  // desync::distributed: on rank 0 of a cluster, misses run remotely
    executor_slot* exec = nullptr;  // nullptr: the default compute pool (or blocking pool)
    std::shared_ptr<executor_slot> own_exec;
    std::vector<use_entry> uses;
    std::optional<needs> default_needs;  // units every call holds while it runs
    // resolves default_needs for a call: set with it, so that calls of a function without
    // default units reach no budget code
    resource_request (*resolve_default_needs)(const needs&) = nullptr;
    mutable fn_counters counters;  // counts, whatever else is const

    // --- version: hashes resolved once, at first use (registry.hpp); numbers set by set_version
    std::atomic<bool> resolved{false};
    std::uint64_t full_hash = 0;
    std::vector<std::uint64_t> minor_hash;
    std::mutex numbers_mutex;
    int major_version = 1;
    int minor_version = 0;

    // --- memo tables (detail/memo_table.hpp, memo.hpp): what the call trees rooted at this
    // function recorded and were given. Made at first use and then read without a lock.
    std::size_t memo_max_entries = 0;  // desync::cache_limit; 0: no bound
    std::size_t memo_max_bytes = 0;
    std::atomic<memo_table*> memo_tables{nullptr};
    std::shared_ptr<memo_table> memo_owner;  // owns *memo_tables
    std::once_flag memo_once;
    // --- store (detail/memo/store.hpp, memo.hpp): asked after the tables miss, given each new
    // result. `has_store` is read first, so that functions without a store pay one load.
    std::atomic<bool> has_store{false};
    std::atomic<std::shared_ptr<memo_store>> store;

    /// May calls of this function be memoized? Only when everything that decides the result
    /// is visible: a body whose text is hashed, no captured state, not opted out.
    bool memoizable() const noexcept { return memoizable_; }
    /// Does its version cover everything that decides its result, so that a run that called it
    /// can be verified by its full hash? Its source and no captured state; or, for a named
    /// function, a `uses` value that stands for what its text cannot show (a version constant
    /// of the function it wraps, the value of its captured state).
    bool versioned() const noexcept { return versioned_; }
    /// Settles memoizable() and versioned() once the identity and the options are set.
    void settle_memoizable() noexcept;
    /// Its name qualified by where it was defined: "ns::name", and
    /// "(anonymous namespace)::name@file.cpp" in an anonymous namespace.
    std::string qualified_name() const;

    // --- registration: a function with a source that the registry lists (registry.hpp), which
    // it forgets when the function goes
    bool registered = false;

    // --- lifetime: cores of DESYNC_FN / DESYNC_DEFINE live for the whole program; cores of
    // desync::desync(...) objects are shared by the object's copies and by running calls.
    bool immortal = false;
    DESYNC_DETAIL_ALWAYS_INLINE void retain() noexcept {
        if (!immortal) refs_.fetch_add(1, std::memory_order_relaxed);
    }
    DESYNC_DETAIL_ALWAYS_INLINE void release() noexcept {
        if (!immortal && refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
    }

private:
    DESYNC_DETAIL_NOINLINE void destroy() noexcept {
        if (registered && core_gone) core_gone(*this);
        delete this;
    }
    bool memoizable_ = false;
    bool versioned_ = false;
    std::atomic<std::uint32_t> refs_{1};
};

/// A counted reference to a core (no counting for immortal ones).
using core_ref = ref<fn_core>;

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/core/fn_core.ipp>
#endif
