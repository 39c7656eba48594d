#pragma once
// Named desync functions, and the resolution of versions: which functions a body names, and
// the Merkle hash over them, so that a change anywhere below a function changes its full hash.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/fn_core.hpp>

#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace desync::detail {

class registry {
public:
    static registry& get();

    /// Makes a named function findable from the text of other bodies.
    void add(fn_core& f);

    /// Lists a function with a version that no body can name (a DESYNC_SOURCE object), so that
    /// a recorded run that called it can be verified; forgotten when the function goes.
    void add_unnamed(fn_core& f);

    /// Computes the full and minor hashes of `f` and of everything it reaches (once).
    void resolve(fn_core& f);

    /// Whether a function of this build has the full hash `h`: a recorded run that called a
    /// function of that hash called exactly this code. Resolves every listed function first
    /// when `h` is not among those resolved so far.
    bool known(std::uint64_t h);

    /// The full hashes of every named function (DESYNC_FN, DESYNC_DEFINE), each resolved now,
    /// in increasing order: what names this build's functions.
    std::vector<std::uint64_t> named_full_hashes();

    /// Changes each time a function is listed: a hash unknown at one generation may be known
    /// at a later one.
    std::uint64_t generation();

    /// The desync functions and `uses` entries `f` depends on, in order of first mention.
    std::vector<fn_core*> callees(const fn_core& f) const;

private:
    // The order of functions by content (not by address or registration order): one type for
    // every sort of them, so that the sort is compiled once.
    struct by_content {
        bool operator()(const fn_core* a, const fn_core* b) const noexcept {
            return a->major_hash != b->major_hash ? a->major_hash < b->major_hash
                                                  : a->source < b->source;
        }
    };

    // Tarjan's strongly connected components: callees are finished before their callers, and
    // a cycle (recursion, mutual recursion) is hashed as one unit.
    struct tarjan;

    registry();

    void resolve_locked(fn_core& f);

    std::mutex mutex_;
    std::unordered_map<std::string_view, std::vector<fn_core*>> by_name_;
    std::unordered_set<fn_core*> unnamed_;            // DESYNC_SOURCE functions alive now
    std::unordered_set<std::uint64_t> known_;         // full hashes of versioned functions resolved
    std::uint64_t generation_ = 0;                    // functions listed so far
    std::uint64_t all_resolved_ = ~std::uint64_t{0};  // the generation known_ is complete for
};

/// The full hash of `f` (its version's Merkle hash), resolving versions on first use.
DESYNC_DECL std::uint64_t full_hash(fn_core& f);

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/version/registry.ipp>
#endif
