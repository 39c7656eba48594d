#pragma once
/// \file
/// Stores: every result kept as it is made, shared by processes and machines (docs/stores.md).
/// `desync::store` is the handle every store converts to; `desync::tiered` chains two. The stores
/// themselves need a compiled library and their own header and CMake target:
/// `<desync/store/sqlite.hpp>` (`desync::sqlite`) and `<desync/store/redis.hpp>`
/// (`desync::redis`).

#include <cstddef>
#include <desync/detail/store/backend.hpp>
#include <desync/detail/store/tiered.hpp>
#include <desync/error.hpp>
#include <memory>
#include <utility>

namespace desync {

/// A handle on a store; copies share one store, which closes (flushing) with its last handle.
/// Default-constructed: no store.
class store {
public:
    /// No store.
    store() noexcept = default;
    /// A handle on `backend` (desync's stores make their own; a custom store may too).
    explicit store(std::shared_ptr<detail::store_backend> backend) noexcept
        : backend_(std::move(backend)) {}

    /// True when this handle names a store.
    explicit operator bool() const noexcept { return backend_ != nullptr; }
    /// Returns once every result written so far is durable, and lookups see every result
    /// other processes had stored by then.
    void flush() const {
        if (!backend_) return;
        backend_->flush();
        backend_->catch_up();
    }
    /// What the store did in this process since it was opened.
    store_stats stats() const { return backend_ ? backend_->stats() : store_stats{}; }
    /// The results it holds for this build and salt (this process's writes flushed first).
    std::size_t size() const { return backend_ ? backend_->size() : 0; }
    /// The store itself, for desync's memo layer.
    const std::shared_ptr<detail::store_backend>& backend() const noexcept { return backend_; }

    /// True when both handles name the same store (or none).
    friend bool operator==(const store& a, const store& b) noexcept {
        return a.backend_ == b.backend_;
    }

private:
    std::shared_ptr<detail::store_backend> backend_;
};

/// Looks in `local`, then in `shared` (a shared hit is copied to `local`); writes to both. Either
/// may be empty: the other is returned. Both must have the same salt (else desync::store_error).
inline store tiered(store local, store shared) {
    if (!local) return shared;
    if (!shared) return local;
    return store(std::make_shared<detail::tiered_backend>(local.backend(), shared.backend()));
}

}  // namespace desync
