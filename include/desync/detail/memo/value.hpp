#pragma once
// What memo tables and caches hold: results, immutable once made and shared between the tables
// and every cache snapshot that holds them (a snapshot copies no value), and the checked records
// of loaded files, decoded only when a probe first asks for them with a known type.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <desync/codec.hpp>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/memo/deps.hpp>
#include <desync/detail/memo/key.hpp>
#include <desync/detail/memo/record.hpp>
#include <desync/xxhash.hpp>
#include <functional>
#include <memory>
#include <new>
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

/// The keys of the memoized calls a body made, kept in one allocation of exactly their size
/// (most results have none: then nothing is allocated).
class key_list {
public:
    key_list() noexcept = default;
    explicit key_list(std::span<const hash128> keys)
        : key_list(keys.size(), [&](std::size_t i) { return keys[i]; }) {}
    /// The n keys key_at(0) ... key_at(n - 1).
    template <class KeyAt>
    key_list(std::size_t n, KeyAt&& key_at) {
        if (n == 0) return;
        block_ = static_cast<hash128*>(::operator new(sizeof(hash128) * (n + 1)));
        block_[0] = {n, 0};
        for (std::size_t i = 0; i < n; ++i) block_[i + 1] = key_at(i);
    }
    key_list(const key_list&) = delete;
    key_list& operator=(const key_list&) = delete;
    key_list(key_list&& o) noexcept : block_(std::exchange(o.block_, nullptr)) {}
    key_list& operator=(key_list&& o) noexcept {
        std::swap(block_, o.block_);
        return *this;
    }
    ~key_list() { ::operator delete(block_); }

    std::size_t size() const noexcept {
        return block_ ? static_cast<std::size_t>(block_[0].low) : 0;
    }
    bool empty() const noexcept { return !block_; }
    const hash128* begin() const noexcept { return block_ ? block_ + 1 : nullptr; }
    const hash128* end() const noexcept { return begin() + size(); }
    operator std::span<const hash128>() const noexcept { return {begin(), size()}; }

private:
    hash128* block_ = nullptr;  // the count (in .low), then the keys
};

class memo_value;

/// What is done with a result of one type, and one layout (with its children's keys or without):
/// one constant each, which every such result reaches through its origin (memo_value has no
/// vtable: a result of a `long` is 24 bytes).
struct value_ops {
    /// Appends the value's encoding; false (and nothing appended) if it cannot be encoded.
    bool (*encode)(const memo_value& v, std::string& out);
    /// Its size for desync::cache_limit (an estimate).
    std::size_t (*bytes)(const memo_value& v) noexcept;
    /// Frees it (its last reference went).
    void (*destroy)(const memo_value* v) noexcept;
    /// The keys of the calls its body made; nullptr for results whose body made none.
    std::span<const hash128> (*children)(const memo_value& v) noexcept;
    /// Its type's result_type_id.
    std::uint64_t type;
};

/// Where results come from: their type (its type_tag and value_ops), the full hash of the
/// function that made them, and what the run that made them called (memo/deps.hpp; nullptr:
/// nothing). Shared by every result of one function, type and dependency set; made once and
/// never freed (origin_of).
struct value_origin {
    const void* tag;
    const value_ops* ops;
    std::uint64_t callee;
    const dep_set* deps;
    friend bool operator==(const value_origin&, const value_origin&) = default;
};

/// The origin of these (the same object for the same four), made if new. Threads look up their
/// last few origins without a lock: results of one function in a row find theirs there.
DESYNC_DECL const value_origin* origin_of(const void* tag, const value_ops* ops,
                                          std::uint64_t callee, const dep_set* deps);

/// A recorded result, of the type `tag()` identifies (and `type()` names across builds). Kept
/// small (a table may hold tens of millions): its origin, an intrusive reference count and how
/// long the call that made it ran, then the value (typed_value). Immutable once shared.
class memo_value {
public:
    memo_value(const memo_value&) = delete;
    memo_value& operator=(const memo_value&) = delete;

    /// Appends the value's encoding; false (and nothing appended) if it cannot be encoded.
    bool encode(std::string& out) const { return origin_->ops->encode(*this, out); }
    /// The type_tag of its type.
    const void* tag() const noexcept { return origin_->tag; }
    /// Its type's result_type_id.
    std::uint64_t type() const noexcept { return origin_->ops->type; }
    /// Its size for desync::cache_limit (an estimate).
    std::size_t bytes() const noexcept { return origin_->ops->bytes(*this); }
    /// The keys of the memoized calls the body that made it made: a hit on it records them too.
    std::span<const hash128> children() const noexcept {
        auto const of = origin_->ops->children;
        return of ? of(*this) : std::span<const hash128>{};
    }
    /// What the run that made it called (nullptr: nothing): a hit serves it only if this build
    /// still has each of those functions.
    const dep_set* deps() const noexcept { return origin_->deps; }
    /// The full hash of the function whose result it is.
    std::uint64_t callee() const noexcept { return origin_->callee; }
    /// How long the call that made it ran: what a hit saves (to 24 significant bits).
    std::uint64_t duration_ns() const noexcept {
        constexpr float top = 18446744073709551616.0f;  // 2^64
        return duration_ >= top ? ~std::uint64_t{0} : static_cast<std::uint64_t>(duration_);
    }

protected:
    memo_value(const value_origin* origin, std::uint64_t duration_ns) noexcept
        : origin_(origin), duration_(static_cast<float>(duration_ns)) {}
    ~memo_value() = default;

private:
    friend class value_ptr;
    const value_origin* origin_;
    mutable std::atomic<std::uint32_t> refs_{0};
    float duration_;
};
static_assert(sizeof(void*) != 8 || sizeof(memo_value) == 16, "a result's header is 16 bytes");

/// A shared, immutable memo_value: what tables, caches and hits hold (a reference count in the
/// value, like std::shared_ptr's but without a control block).
class value_ptr {
public:
    value_ptr() noexcept = default;
    value_ptr(std::nullptr_t) noexcept {}
    /// Shares `v` (nullptr: none); a value made by make_result is owned by its value_ptrs.
    explicit value_ptr(const memo_value* v) noexcept : p_(v) {
        if (p_) p_->refs_.fetch_add(1, std::memory_order_relaxed);
    }
    value_ptr(const value_ptr& o) noexcept : value_ptr(o.p_) {}
    value_ptr(value_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    value_ptr& operator=(value_ptr o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~value_ptr() {
        if (p_ && p_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            p_->origin_->ops->destroy(p_);
    }

    /// Gives up its value without letting go of it: for a holder that keeps it as a plain
    /// pointer, which hands it back with adopt().
    const memo_value* release() noexcept { return std::exchange(p_, nullptr); }
    /// Takes over a value given up by release().
    static value_ptr adopt(const memo_value* v) noexcept {
        value_ptr out;
        out.p_ = v;
        return out;
    }

    const memo_value* get() const noexcept { return p_; }
    const memo_value* operator->() const noexcept { return p_; }
    const memo_value& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    friend bool operator==(const value_ptr& a, const value_ptr& b) noexcept { return a.p_ == b.p_; }

private:
    const memo_value* p_ = nullptr;
};

/// The size a result counts for in a bounded table: its encoded size, or its object size.
template <class V>
std::size_t size_estimate(const V& v) {
    if constexpr (is_encodable_v<V>)
        return encoded_size(v);
    else
        return sizeof(V);
}

/// Whether a result's size is worked out when asked (its encoding takes no allocation) rather
/// than kept beside it.
template <class V>
inline constexpr bool sized_when_asked_v = std::is_trivially_copyable_v<V>;

/// Where a result of a type that is not sized when asked keeps its size.
template <class V>
struct kept_size {
    std::size_t bytes = 0;
};
template <class V>
    requires sized_when_asked_v<V>
struct kept_size<V> {
};

/// A result of type V (void: no value of its own).
template <class V>
class typed_value : public memo_value {
public:
    template <class... A>
    typed_value(const value_origin* origin, std::uint64_t duration_ns, std::size_t bytes, A&&... a)
        : memo_value(origin, duration_ns), value(std::forward<A>(a)...) {
        if constexpr (!sized_when_asked_v<V>) size_.bytes = bytes;
    }
    V value;

private:
    template <class, bool>
    friend struct value_ops_of;
    [[no_unique_address]] kept_size<V> size_;
};

template <>
class typed_value<void> : public memo_value {
public:
    typed_value(const value_origin* origin, std::uint64_t duration_ns, std::size_t) noexcept
        : memo_value(origin, duration_ns) {}
};

/// A result whose body made memoized calls: their keys follow it.
template <class V>
class typed_value_with_children final : public typed_value<V> {
public:
    template <class... A>
    typed_value_with_children(key_list children, A&&... a)
        : typed_value<V>(std::forward<A>(a)...), child_keys(std::move(children)) {}
    key_list child_keys;
};

/// The value_ops of results of type V, with their children's keys or without.
template <class V, bool Children>
struct value_ops_of {
    using object = std::conditional_t<Children, typed_value_with_children<V>, typed_value<V>>;
    static bool encode(const memo_value& v, std::string& out) {
        if constexpr (std::is_void_v<V>) {
            return true;  // nothing to write
        } else if constexpr (is_encodable_v<V>) {
            detail::encode(out, static_cast<const typed_value<V>&>(v).value);
            return true;
        } else {
            return false;
        }
    }
    static std::size_t bytes(const memo_value& v) noexcept {
        if constexpr (std::is_void_v<V>) {
            return 0;
        } else if constexpr (sized_when_asked_v<V>) {
            try {
                return size_estimate(static_cast<const typed_value<V>&>(v).value);
            } catch (...) {
                return std::size_t(-1);
            }
        } else {
            return static_cast<const typed_value<V>&>(v).size_.bytes;
        }
    }
    static void destroy(const memo_value* v) noexcept { delete static_cast<const object*>(v); }
    static std::span<const hash128> children(const memo_value& v) noexcept {
        return static_cast<const typed_value_with_children<V>&>(v).child_keys;
    }
    static constexpr value_ops ops{&encode, &bytes, &destroy, Children ? &children : nullptr,
                                   result_type_id<V>};
};

/// Shares a new result of type V made from `a...` (nothing for void), once given what it was
/// made from: its children's keys, what its run called, its function's full hash. `bytes`: its
/// size_estimate (of the value it copies, or of its encoding).
template <class V, class... A>
value_ptr make_result(key_list children, const dep_set* deps, std::uint64_t callee,
                      std::uint64_t duration_ns, std::size_t bytes, A&&... a) {
    auto origin = [&](const value_ops& ops) { return origin_of(&type_tag<V>, &ops, callee, deps); };
    if (children.empty())
        return value_ptr(new typed_value<V>(origin(value_ops_of<V, false>::ops), duration_ns, bytes,
                                            std::forward<A>(a)...));
    return value_ptr(new typed_value_with_children<V>(std::move(children),
                                                      origin(value_ops_of<V, true>::ops),
                                                      duration_ns, bytes, std::forward<A>(a)...));
}

/// The set a record refers to: none for no_deps_ref, unverifiable for a reference this process
/// does not know (an older format, or a set that was damaged in the file).
DESYNC_DECL const dep_set* deps_of_ref(std::uint64_t ref);

/// How a record refers to a set.
DESYNC_DECL std::uint64_t deps_ref_of(const dep_set* s) noexcept;

/// The value of a checked record as a V, or nullptr if it is not one (another type, or bytes
/// that do not decode: a miss, never a wrong value).
template <class V>
value_ptr decode_record(const std::byte* at) {
    cache_format::record_view const r{at};
    if (r.type() != result_type_id<V>) return nullptr;
    auto made = [&](auto&&... value) {
        return make_result<V>(key_list(r.children(), [&](std::size_t i) { return r.child(i); }),
                              deps_of_ref(r.deps_ref()), r.callee(), r.duration_ns(),
                              r.value().size(), std::forward<decltype(value)>(value)...);
    };
    if constexpr (std::is_void_v<V>) {
        if (!r.value().empty()) return nullptr;
        return made();
    } else if constexpr (is_encodable_v<V>) {
        V v{};
        if (!decode(r.value(), v)) return nullptr;
        return made(std::move(v));
    } else {
        return nullptr;
    }
}

/// The bytes of a loaded file.
struct file_bytes {
    std::unique_ptr<std::byte[]> data;
    std::size_t size = 0;

    bool holds(const std::byte* p) const noexcept {
        return std::less_equal<>{}(data.get(), p) && std::less<>{}(p, data.get() + size);
    }
};

/// The loaded files that records point into, each once, in the order of their addresses (a
/// record's file is found by a binary search). A record is a plain pointer into its file's
/// bytes: whoever holds records holds their files in one of these, so that a record costs 8
/// bytes, not a reference count's 16 and its atomic updates (docs/memo.md).
class file_set {
public:
    /// Adds `f` unless it is there.
    void add(std::shared_ptr<const file_bytes> f);
    /// Adds those of `other`'s files that are not there.
    void add_all(const file_set& other);
    /// The number of the file that holds the record at `p`, or size() if none does.
    std::size_t find(const std::byte* p) const noexcept;
    /// Sets used[i] for the file i that holds the record at `p` (used has size() flags).
    void mark_holder(const std::byte* p, std::vector<bool>& used) const noexcept {
        if (std::size_t const i = find(p); i < used.size()) used[i] = true;
    }
    const std::shared_ptr<const file_bytes>& operator[](std::size_t i) const noexcept {
        return files_[i];
    }
    std::size_t size() const noexcept { return files_.size(); }
    bool empty() const noexcept { return files_.empty(); }
    /// Keeps the files whose `keep[i]` is true; the others move to `gone`.
    void keep_only(const std::vector<bool>& keep,
                   std::vector<std::shared_ptr<const file_bytes>>& gone);

private:
    std::vector<std::shared_ptr<const file_bytes>> files_;
};

/// A result made in this process, in a cache.
struct made_entry {
    hash128 key;
    value_ptr value;
};

/// The contents of a desync::cache. Immutable once shared: caches copy on write.
struct cache_data {
    std::vector<made_entry> made;        // results made in this process
    std::vector<const std::byte*> read;  // checked records of loaded files, not decoded yet
    file_set files;                      // the files that `read` points into
    std::size_t dropped = 0;             // damaged records the load skipped
    std::size_t outdated = 0;            // records of an older format the load could not use

    std::size_t size() const noexcept { return made.size() + read.size(); }

    /// The keys of all entries.
    std::unordered_set<hash128> keys() const;

    /// Adds the entries of `other` whose keys are not in `keys` (and adds those keys).
    void add_missing(const cache_data& other, std::unordered_set<hash128>& keys);
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/value.ipp>
#endif
