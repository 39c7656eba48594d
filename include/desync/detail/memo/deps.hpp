#pragma once
// What a recorded result's run called: the desync functions reached anywhere in its subtree,
// however the code reached them (by name, through a DESYNC_SOURCE variable, a helper returning a
// reference, an alias, a macro). A hit is served only if each of them is a function of this
// build with the same full hash, so an edit that a caller's text cannot show still reaches its
// results. The sets are interned: results of one code path share one set, verified once per
// process, and a file stores each set once.

#include <desync/detail/core/attributes.hpp>

#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/version/registry.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace desync::detail {

/// One desync function a run called: its full hash (what a hit verifies) and, for saying why a
/// call ran again, the hash of its source and of its qualified name.
struct dep_entry {
    std::uint64_t full_hash = 0;
    std::uint64_t major_hash = 0;
    std::uint64_t name_hash = 0;

    friend bool operator==(const dep_entry&, const dep_entry&) = default;
    friend auto operator<=>(const dep_entry&, const dep_entry&) = default;
};

/// How a result refers to its set in a file: no set (an older format: never served), none
/// called, or the set's id.
inline constexpr std::uint64_t unknown_deps_ref = 0;
inline constexpr std::uint64_t no_deps_ref = 1;

/// A set of functions called, immutable, interned and never freed (results of one code path
/// share one; there are few).
class dep_set {
public:
    dep_set(std::vector<dep_entry> entries, std::uint64_t id, std::uint32_t index)
        : entries_(std::move(entries)), id_(id), index_(index) {}
    dep_set(const dep_set&) = delete;
    dep_set& operator=(const dep_set&) = delete;

    std::span<const dep_entry> entries() const noexcept { return entries_; }
    /// Its reference in files: a hash of its entries (never unknown_deps_ref or no_deps_ref).
    std::uint64_t id() const noexcept { return id_; }
    /// Its number in this process, for quick cells (1-based).
    std::uint32_t index() const noexcept { return index_; }

    /// Whether every function in it is a function of this build (remembered: true for good;
    /// false until the registry lists a new function).
    bool verified() const;
    /// Marks a set made by this process's own runs: its functions are this build's.
    void made_here() const noexcept { verdict_.store(ok, std::memory_order_release); }

    /// The id of a sorted, unique list of entries.
    static std::uint64_t id_of(std::span<const dep_entry> entries) noexcept;

private:
    static constexpr std::uint64_t ok = 1;
    static constexpr std::uint64_t refused_at(std::uint64_t generation) noexcept {
        return (generation + 1) << 1;  // even, never 0 (unknown) or 1 (ok)
    }
    std::vector<dep_entry> entries_;
    std::uint64_t id_;
    std::uint32_t index_;
    mutable std::atomic<std::uint64_t> verdict_{0};
};
static_assert(sizeof(dep_entry) == 24, "dep_entry is written to files as three u64");

/// The mark of a run that cannot be verified: it called a desync function without a version.
/// Such a result is neither recorded nor served.
DESYNC_DECL const dep_set* unverifiable_deps() noexcept;

/// Whether a result whose run called `deps` (nullptr: nothing) may be served by this build.
inline bool deps_hold(const dep_set* deps) {
    return !deps || (deps != unverifiable_deps() && deps->verified());
}

/// The process's interned sets.
class dep_sets {
public:
    static dep_sets& get();

    /// The set of these entries (sorted and unique), made if new; nullptr for none.
    const dep_set* intern(std::vector<dep_entry> entries);

    /// The set a file refers to as `id`, if this process has it.
    const dep_set* find(std::uint64_t id);

    /// The set of number `index` (from dep_set::index), without a lock; 0 is nullptr.
    DESYNC_DETAIL_ALWAYS_INLINE const dep_set* at(std::uint32_t index) const noexcept {
        if (index == 0) return nullptr;
        std::size_t const i = index - 1;
        return chunks_[i / chunk_size].load(std::memory_order_acquire)[i % chunk_size].load(
            std::memory_order_acquire);
    }

private:
    static constexpr std::size_t chunk_size = 4096;
    static constexpr std::size_t max_chunks = 1024;
    static constexpr std::size_t max_sets = chunk_size * max_chunks;  // beyond: not recorded
    using slot = std::atomic<const dep_set*>;

    dep_sets();

    // Locked: the set's number is all_.size() + 1.
    void publish(std::unique_ptr<dep_set> made);

    std::mutex mutex_;
    std::unordered_map<std::uint64_t, const dep_set*> by_id_;
    std::vector<std::unique_ptr<dep_set>> all_;
    std::unique_ptr<std::atomic<slot*>[]> chunks_;
    std::vector<std::unique_ptr<slot[]>> owned_chunks_;
};

/// What a body and the calls under it have called so far, collected on the thread that runs
/// the body; the sets of the calls it joins are added at the join.
class dep_builder {
public:
    /// The body called `callee`.
    DESYNC_DETAIL_ALWAYS_INLINE void note_callee(fn_core& callee) {
        if (&callee == last_callee_) return;
        last_callee_ = &callee;
        if (callee.transparent) return;  // desync::async, then: the caller's own code
        if (!callee.versioned()) {
            unverifiable_ = true;
            return;
        }
        direct_.push_back({full_hash(callee), callee.major_hash, callee.name_hash});
    }
    /// The body used a result whose run called `deps` (a hit, or a call it joined).
    DESYNC_DETAIL_ALWAYS_INLINE void note_set(const dep_set* deps) {
        if (!deps || deps == last_set_) return;
        last_set_ = deps;
        if (deps == unverifiable_deps()) {
            unverifiable_ = true;
            return;
        }
        sets_.push_back(deps);
    }
    bool unverifiable() const noexcept { return unverifiable_; }

    /// The interned set of everything noted (nullptr: nothing; unverifiable_deps(): a function
    /// without a version).
    const dep_set* finish();

private:
    std::vector<dep_entry> direct_;
    std::vector<const dep_set*> sets_;
    const fn_core* last_callee_ = nullptr;
    const dep_set* last_set_ = nullptr;
    bool unverifiable_ = false;
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/deps.ipp>
#endif
