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

class value_ptr;

/// A recorded result, of the type `tag()` identifies (and `type()` names across builds). Kept
/// small (a table may hold tens of millions): counted by an intrusive reference count, its type
/// known through its virtual functions rather than stored.
class memo_value {
public:
    memo_value(std::uint64_t duration_ns, std::size_t bytes) noexcept
        : bytes_(bytes < big ? static_cast<std::uint32_t>(bytes) : big), duration_ns(duration_ns) {}
    memo_value(const memo_value&) = delete;
    memo_value& operator=(const memo_value&) = delete;
    virtual ~memo_value() = default;

    /// Appends the value's encoding; false (and nothing appended) if it cannot be encoded.
    virtual bool encode(std::string& out) const = 0;
    /// The type_tag of its type.
    virtual const void* tag() const noexcept = 0;
    /// Its type's result_type_id.
    virtual std::uint64_t type() const noexcept = 0;
    /// Its size for desync::cache_limit (an estimate).
    std::size_t bytes() const noexcept { return bytes_ < big ? bytes_ : big_bytes(); }

private:
    static constexpr std::uint32_t big = 0xFFFFFFFFu;  // 4 GiB or more: computed when asked
    virtual std::size_t big_bytes() const noexcept = 0;
    friend class value_ptr;
    mutable std::atomic<std::uint32_t> refs_{0};
    const std::uint32_t bytes_;

public:
    /// The keys of the memoized calls the body that made this value made (set before the value
    /// is shared): a hit on it records them too.
    key_list children;
    /// What the run that made it called (memo_deps.hpp; nullptr: nothing): a hit serves it only
    /// if this build still has each of those functions. Set before the value is shared.
    const dep_set* deps = nullptr;
    /// The full hash of the function whose result it is (set before the value is shared).
    std::uint64_t callee = 0;
    const std::uint64_t duration_ns;  // how long the call that made it ran: what a hit saves
};

/// A shared, immutable memo_value: what tables, caches and hits hold (a reference count in the
/// value, like std::shared_ptr's but without a control block).
class value_ptr {
public:
    value_ptr() noexcept = default;
    value_ptr(std::nullptr_t) noexcept {}
    /// Shares `v` (nullptr: none); a value made with `new` is owned by its value_ptrs.
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
        if (p_ && p_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p_;
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

template <class V>
class typed_value final : public memo_value {
public:
    /// `bytes`: size_estimate of the value (of the one it copies, or of its encoding).
    template <class... A>
    typed_value(std::uint64_t duration_ns, std::size_t bytes, A&&... a)
        : memo_value(duration_ns, bytes), value(std::forward<A>(a)...) {}
    bool encode(std::string& out) const override {
        if constexpr (is_encodable_v<V>) {
            detail::encode(out, value);
            return true;
        } else {
            return false;
        }
    }
    const void* tag() const noexcept override { return &type_tag<V>; }
    std::uint64_t type() const noexcept override { return result_type_id<V>; }
    V value;

private:
    std::size_t big_bytes() const noexcept override {
        try {
            return size_estimate(value);
        } catch (...) {
            return std::size_t(-1);
        }
    }
};

template <>
class typed_value<void> final : public memo_value {
public:
    explicit typed_value(std::uint64_t duration_ns) noexcept : memo_value(duration_ns, 0) {}
    bool encode(std::string&) const override;  // nothing to write
    const void* tag() const noexcept override;
    std::uint64_t type() const noexcept override;

private:
    std::size_t big_bytes() const noexcept override;
};

/// Shares a value just made, once given what it was made from (its children's keys, what its
/// run called, its function's full hash): after this it is immutable.
template <class V>
value_ptr share_made(std::unique_ptr<typed_value<V>> v, key_list children, const dep_set* deps,
                     std::uint64_t callee) noexcept {
    v->children = std::move(children);
    v->deps = deps;
    v->callee = callee;
    return value_ptr(v.release());
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
    std::unique_ptr<typed_value<V>> v;
    if constexpr (std::is_void_v<V>) {
        if (!r.value().empty()) return nullptr;
        v = std::make_unique<typed_value<void>>(r.duration_ns());
    } else if constexpr (is_encodable_v<V>) {
        v = std::make_unique<typed_value<V>>(r.duration_ns(), r.value().size());
        if (!decode(r.value(), v->value)) return nullptr;
    } else {
        return nullptr;
    }
    return share_made(std::move(v),
                      key_list(r.children(), [&](std::size_t i) { return r.child(i); }),
                      deps_of_ref(r.deps_ref()), r.callee());
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
