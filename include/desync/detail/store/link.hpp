#pragma once
// A desync::store as a root function's store (detail/memo/store.hpp, docs/stores.md). A stored
// value is the result's record, of the cache file's format, with its checksum seeded by the
// store's salt and the build; followed, when the run that made it called anything, by the record
// of what it called (as a cache file holds it before the records that refer to it). A value that
// does not check whole, or holds another key's record, is a miss counted as dropped.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <desync/cache_file.hpp>
#include <desync/detail/cache/header.hpp>
#include <desync/detail/memo/deps.hpp>
#include <desync/detail/memo/record.hpp>
#include <desync/detail/memo/store.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/detail/store/backend.hpp>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace desync::detail {

/// Whether `value` is `key`'s result record whole, its checksums seeded with `seed`, followed by
/// the record of what its run called (interned here) when it refers to a set of functions this
/// process does not know. What a store's value must be to be served (fuzzed by tests/fuzz).
inline bool store_record_checks(const hash128& key, const std::string& value, std::uint64_t seed) {
    auto const* p = reinterpret_cast<const std::byte*>(value.data());
    std::size_t hashed = 0;
    std::size_t const n = cache_format::check_record(p, value.size(), seed, hashed);
    if (n == 0) return false;
    cache_format::record_view const r{p};
    if (!(r.key() == key) || r.type() == cache_format::dep_set_type) return false;
    std::uint64_t const ref = r.deps_ref();
    if (n == value.size())
        return ref == no_deps_ref || (ref != unknown_deps_ref && dep_sets::get().find(ref));
    std::size_t const m = cache_format::check_record(p + n, value.size() - n, seed, hashed);
    if (m != value.size() - n) return false;
    cache_format::record_view const set{p + n};
    return set.type() == cache_format::dep_set_type && set.key() == hash128{ref, ref} &&
           intern_dep_set(set);
}

class store_link final : public memo_store {
public:
    explicit store_link(std::shared_ptr<store_backend> backend)
        : backend_(std::move(backend)),
          seed_(cache_format::record_seed(cache_format::format_version, backend_->space().salt)) {}

    bool find(const hash128& key, std::string& record) override {
        answer a;
        backend_->lookup(key, a);
        a.wait();
        if (a.error) std::rethrow_exception(a.error);
        if (!a.hit) return false;
        if (!checks(key, a.record)) {
            backend_->dropped(key);
            return false;
        }
        record = std::move(a.record);
        return true;
    }

    void dropped(const hash128& key) noexcept override { backend_->dropped(key); }
    void stale(const hash128& key) noexcept override { backend_->forget(key); }

    bool write(const hash128& key, const memo_value& v) override {
        std::string out;
        std::size_t const start = cache_format::begin_record(
            out, {key, v.type(), v.duration_ns(), v.callee(), deps_ref_of(v.deps())}, v.children());
        if (!v.encode(out)) return false;
        cache_format::finish_record(out, start, seed_);
        if (v.deps() && v.deps() != unverifiable_deps()) put_dep_set(out, *v.deps(), seed_);
        if (!backend_->syncs_each_write()) {
            backend_->write(key, std::move(out), nullptr);
            return true;
        }
        durable_wait w;
        backend_->write(key, std::move(out), &w);
        w.wait();
        return true;
    }

    void flush() override { backend_->flush(); }

    const std::shared_ptr<store_backend>& backend() const noexcept { return backend_; }

private:
    // One lookup's answer, waited for (told once, on any thread; told under the lock, so that
    // the waiter may go as soon as it sees it).
    struct answer final : store_lookup {
        void found(std::string r) noexcept override {
            std::lock_guard g(m);
            record = std::move(r);
            hit = told = true;
            cv.notify_one();
        }
        void missing() noexcept override {
            std::lock_guard g(m);
            told = true;
            cv.notify_one();
        }
        void failed(std::exception_ptr e) noexcept override {
            std::lock_guard g(m);
            error = std::move(e);
            told = true;
            cv.notify_one();
        }
        void wait() {
            std::unique_lock l(m);
            cv.wait(l, [this] { return told; });
        }
        std::mutex m;
        std::condition_variable cv;
        bool told = false, hit = false;
        std::string record;
        std::exception_ptr error;
    };

    // A write waited for until the store says it is durable (or will not be).
    struct durable_wait final : store_write {
        void written(bool) noexcept override {
            std::lock_guard g(m);
            told = true;
            cv.notify_one();
        }
        void wait() {
            std::unique_lock l(m);
            cv.wait(l, [this] { return told; });
        }
        std::mutex m;
        std::condition_variable cv;
        bool told = false;
    };

    bool checks(const hash128& key, const std::string& value) const {
        return store_record_checks(key, value, seed_);
    }

    std::shared_ptr<store_backend> backend_;
    std::uint64_t seed_;
};

}  // namespace desync::detail
