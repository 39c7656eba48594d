#pragma once
// What memo tables and caches hold: results, immutable once made and shared between the tables
// and every cache snapshot that holds them (a snapshot copies no value), and the checked records
// of loaded files, decoded only when a probe first asks for them with a known type.

#include <cstddef>
#include <cstdint>
#include <desync/codec.hpp>
#include <desync/detail/memo/deps.hpp>
#include <desync/detail/memo/key.hpp>
#include <desync/detail/memo/record.hpp>
#include <desync/xxhash.hpp>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace desync::detail {

/// Identifies a type within this process: one address per type, whatever its name. A value or
/// a call is only ever used as the type whose tag it carries (a stray 128-bit key collision, or
/// two types that print alike, then is a miss, not a misread object).
template <class V>
inline constexpr char type_tag = 0;

/// A recorded result, of the type `tag` identifies (and `type` names across builds).
class memo_value {
public:
    memo_value(const void* tag, std::uint64_t type, std::uint64_t duration_ns,
               std::size_t bytes) noexcept
        : tag(tag), type(type), duration_ns(duration_ns), bytes(bytes) {}
    memo_value(const memo_value&) = delete;
    memo_value& operator=(const memo_value&) = delete;
    virtual ~memo_value() = default;

    /// Appends the value's encoding; false (and nothing appended) if it cannot be encoded.
    virtual bool encode(std::string& out) const = 0;

    /// The keys of the memoized calls the body that made this value made (set before the value
    /// is shared): a hit on it records them too.
    std::vector<hash128> children;
    /// What the run that made it called (memo_deps.hpp; nullptr: nothing): a hit serves it only
    /// if this build still has each of those functions. Set before the value is shared.
    const dep_set* deps = nullptr;
    /// The full hash of the function whose result it is (set before the value is shared).
    std::uint64_t callee = 0;
    const void* const tag;
    const std::uint64_t type;
    const std::uint64_t duration_ns;  // how long the call that made it ran: what a hit saves
    const std::size_t bytes;          // its size for desync::cache_limit (an estimate)
};

/// The size a result counts for in a bounded table: its encoded size, or its object size.
template <class V>
std::size_t size_estimate(const V& v) {
    if constexpr (is_encodable_v<V>)
        return encoded_size(v);
    else
        return sizeof(V);
}

template <class V>
class typed_value final : public memo_value {
public:
    /// `bytes`: size_estimate of the value (of the one it copies, or of its encoding).
    template <class... A>
    typed_value(std::uint64_t duration_ns, std::size_t bytes, A&&... a)
        : memo_value(&type_tag<V>, result_type_id<V>, duration_ns, bytes),
          value(std::forward<A>(a)...) {}
    bool encode(std::string& out) const override {
        if constexpr (is_encodable_v<V>) {
            detail::encode(out, value);
            return true;
        } else {
            return false;
        }
    }
    V value;
};

template <>
class typed_value<void> final : public memo_value {
public:
    explicit typed_value(std::uint64_t duration_ns) noexcept
        : memo_value(&type_tag<void>, result_type_id<void>, duration_ns, 0) {}
    bool encode(std::string&) const override { return true; }  // nothing to write
};

using value_ptr = std::shared_ptr<const memo_value>;
/// A record inside a loaded file's bytes; shares ownership of the whole file.
using record_ptr = std::shared_ptr<const std::byte>;

/// The set a record refers to: none for no_deps_ref, unverifiable for a reference this process
/// does not know (an older format, or a set that was damaged in the file).
inline const dep_set* deps_of_ref(std::uint64_t ref) {
    if (ref == no_deps_ref) return nullptr;
    if (ref == unknown_deps_ref) return unverifiable_deps();
    const dep_set* s = dep_sets::get().find(ref);
    return s ? s : unverifiable_deps();
}

/// How a record refers to a set.
inline std::uint64_t deps_ref_of(const dep_set* s) noexcept {
    if (!s) return no_deps_ref;
    return s == unverifiable_deps() ? unknown_deps_ref : s->id();
}

/// The value of a checked record as a V, or nullptr if it is not one (another type, or bytes
/// that do not decode: a miss, never a wrong value).
template <class V>
value_ptr decode_record(const std::byte* at) {
    cache_format::record_view const r{at};
    if (r.type() != result_type_id<V>) return nullptr;
    std::shared_ptr<typed_value<V>> v;
    if constexpr (std::is_void_v<V>) {
        if (!r.value().empty()) return nullptr;
        v = std::make_shared<typed_value<void>>(r.duration_ns());
    } else if constexpr (is_encodable_v<V>) {
        v = std::make_shared<typed_value<V>>(r.duration_ns(), r.value().size());
        if (!decode(r.value(), v->value)) return nullptr;
    } else {
        return nullptr;
    }
    v->children.reserve(r.children());
    for (std::size_t i = 0; i < r.children(); ++i) v->children.push_back(r.child(i));
    v->deps = deps_of_ref(r.deps_ref());
    v->callee = r.callee();
    return v;
}

/// The bytes of a loaded file.
struct file_bytes {
    std::unique_ptr<std::byte[]> data;
    std::size_t size = 0;
};

/// A result made in this process, in a cache.
struct made_entry {
    hash128 key;
    value_ptr value;
};

/// The contents of a desync::cache. Immutable once shared: caches copy on write.
struct cache_data {
    std::vector<made_entry> made;  // results made in this process
    std::vector<record_ptr> read;  // checked records of loaded files, not decoded yet
    std::size_t dropped = 0;       // damaged records the load skipped
    std::size_t outdated = 0;      // records of an older format the load could not use

    std::size_t size() const noexcept { return made.size() + read.size(); }

    /// The keys of all entries.
    std::unordered_set<hash128> keys() const {
        std::unordered_set<hash128> out;
        out.reserve(size());
        for (const made_entry& e : made) out.insert(e.key);
        for (const record_ptr& r : read) out.insert(cache_format::record_view{r.get()}.key());
        return out;
    }

    /// Adds the entries of `other` whose keys are not in `keys` (and adds those keys).
    void add_missing(const cache_data& other, std::unordered_set<hash128>& keys) {
        for (const made_entry& e : other.made)
            if (keys.insert(e.key).second) made.push_back(e);
        for (const record_ptr& r : other.read)
            if (keys.insert(cache_format::record_view{r.get()}.key()).second) read.push_back(r);
    }
};

}  // namespace desync::detail
