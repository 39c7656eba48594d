#pragma once
// desync::tiered(local, shared): look in local, then in shared, copying a shared hit to local;
// write to both. Its own counters are the lookups' (hits, misses, and the records the memo layer
// dropped); writes, skipped, errors and the tiers' own drops are the sums of the two stores'.

#include <algorithm>
#include <atomic>
#include <desync/detail/store/backend.hpp>
#include <desync/error.hpp>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace desync::detail {

class tiered_backend final : public store_backend {
public:
    tiered_backend(std::shared_ptr<store_backend> local, std::shared_ptr<store_backend> shared)
        : local_(std::move(local)), shared_(std::move(shared)) {
        if (local_->space().name() != shared_->space().name())
            throw store_error("desync::tiered: " + local_->describe() + " and " +
                              shared_->describe() +
                              " have different salts: their records cannot be copied");
    }

    void lookup(const hash128& key, store_lookup& answer) override {
        auto* step = new tiered_step(local_, shared_, counts_, key, answer);
        local_->lookup(key, *step);
    }

    void write(const hash128& key, std::string record, store_write* done) override {
        if (!done) {
            local_->write(key, record, nullptr);
            shared_->write(key, std::move(record), nullptr);
            return;
        }
        auto* both = new both_written(*done);
        local_->write(key, record, both);
        shared_->write(key, std::move(record), both);
    }

    void dropped(const hash128& key) noexcept override {
        counts_->hit_dropped();
        local_->forget(key);  // a shared hit was copied there: the copy must not stand
    }
    void forget(const hash128& key) noexcept override { local_->forget(key); }

    void catch_up() override {
        local_->catch_up();
        shared_->catch_up();
    }
    void flush() override {
        local_->flush();
        shared_->flush();
    }
    bool syncs_each_write() const noexcept override {
        return local_->syncs_each_write() || shared_->syncs_each_write();
    }

    store_stats stats() const override {
        store_stats s = counts_->snapshot();
        store_stats const a = local_->stats(), b = shared_->stats();
        s.dropped += a.dropped + b.dropped;
        s.writes = a.writes + b.writes;
        s.skipped = a.skipped + b.skipped;
        s.errors = a.errors + b.errors;
        return s;
    }

    /// At least this many results are reachable: the larger of the two stores' sizes.
    std::size_t size() override { return std::max(local_->size(), shared_->size()); }

    void set_validator(store_validator check) override {
        local_->set_validator(check);
        shared_->set_validator(std::move(check));
    }
    const store_namespace& space() const noexcept override { return local_->space(); }
    std::string describe() const override {
        return "the tiered store (" + local_->describe() + ", then " + shared_->describe() + ")";
    }

private:
    // One lookup: local first; on a miss, shared; a shared hit is written to local.
    struct tiered_step final : store_lookup {
        tiered_step(std::shared_ptr<store_backend> l, std::shared_ptr<store_backend> s,
                    std::shared_ptr<store_counters> c, const hash128& k, store_lookup& a)
            : local(std::move(l)), shared(std::move(s)), counts(std::move(c)), key(k), answer(a) {}

        void found(std::string record) noexcept override {
            if (asked_shared) {
                try {
                    local->write(key, record, nullptr);
                } catch (...) {  // the copy is a convenience: the hit stands without it
                }
            }
            bump(counts->hits);
            finish([&](store_lookup& a) { a.found(std::move(record)); });
        }
        void missing() noexcept override {
            if (!asked_shared) {
                asked_shared = true;
                try {
                    shared->lookup(key, *this);
                    return;
                } catch (...) {  // as if shared had nothing
                }
            }
            bump(counts->misses);
            finish([](store_lookup& a) { a.missing(); });
        }
        void failed(std::exception_ptr e) noexcept override {
            finish([&](store_lookup& a) { a.failed(std::move(e)); });
        }

        template <class Answer>
        void finish(Answer answer_with) noexcept {
            store_lookup& a = answer;
            delete this;
            answer_with(a);
        }

        std::shared_ptr<store_backend> local, shared;
        std::shared_ptr<store_counters> counts;
        hash128 key;
        store_lookup& answer;
        bool asked_shared = false;
    };

    // Tells the caller once both stores told: durable if either holds the record.
    struct both_written final : store_write {
        explicit both_written(store_write& d) : done(d) {}
        void written(bool durable) noexcept override {
            if (durable) any.store(true, std::memory_order_relaxed);
            if (left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
            store_write& d = done;
            bool const result = any.load(std::memory_order_relaxed);
            delete this;
            d.written(result);
        }
        store_write& done;
        std::atomic<int> left{2};
        std::atomic<bool> any{false};
    };

    std::shared_ptr<store_backend> local_, shared_;
    std::shared_ptr<store_counters> counts_ = std::make_shared<store_counters>();
};

}  // namespace desync::detail
