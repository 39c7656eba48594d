#pragma once
// A root function's store as the memo layer sees it (docs/stores.md): asked after the memory
// tables miss, given each new result as it is made. desync::store's link (detail/store/link.hpp)
// implements it over any store; the memo layer knows no store of its own.

#include <desync/detail/memo/value.hpp>
#include <desync/xxhash.hpp>

#include <string>

namespace desync::detail {

class memo_store {
public:
    virtual ~memo_store() = default;

    /// The checked record of a result stored under `key` (its whole record, of the cache file's
    /// format, whose key is `key`), and true; false when the store holds none that checks (a
    /// damaged or foreign one is counted as dropped). Throws desync::store_error when a
    /// required store cannot answer.
    virtual bool find(const hash128& key, std::string& record) = 0;
    /// The record find() gave for `key` did not decode as the call's type: a dropped miss.
    virtual void dropped(const hash128& key) noexcept = 0;
    /// The record find() gave for `key` cannot serve this build (a function its run called has
    /// changed): a miss, and the result made instead may replace it.
    virtual void stale(const hash128& key) noexcept = 0;
    /// Hands a new result to the store's writer (false if it cannot be encoded: nothing is
    /// written). Waits until it is durable when the store makes each result durable before its
    /// call's value is ready (sync_every 0).
    virtual bool write(const hash128& key, const memo_value& v) = 0;
    /// Makes everything written so far durable (a root call's end).
    virtual void flush() = 0;
};

}  // namespace desync::detail
