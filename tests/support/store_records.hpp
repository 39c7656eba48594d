#pragma once
// What the store tests write and how they wait: records are any bytes followed by their XXH3-64
// (record_checks is the validator the tests install); answer waits for one lookup's answer.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <desync/store.hpp>
#include <desync/xxhash.hpp>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace desync::test {

/// `payload` and its XXH3-64.
inline std::string record_of(std::string_view payload) {
    std::uint64_t const sum = xxh3_64(payload);
    std::string out(payload);
    out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
    return out;
}

/// The validator of the tests: the last 8 bytes are the XXH3-64 of the others.
inline bool record_checks(const hash128&, std::string_view record) {
    if (record.size() < 8) return false;
    std::uint64_t sum = 0;
    std::memcpy(&sum, record.data() + record.size() - 8, 8);
    return xxh3_64(record.substr(0, record.size() - 8)) == sum;
}

/// The key of the tests' i-th result.
inline hash128 key_of(std::uint64_t i) { return xxh3_128(std::to_string(i), 0x5eed); }

/// One lookup's answer, waited for.
class answer final : public detail::store_lookup {
public:
    enum class kind { none, found, missing, failed };

    void found(std::string record) noexcept override { tell(kind::found, std::move(record), {}); }
    void missing() noexcept override { tell(kind::missing, {}, {}); }
    void failed(std::exception_ptr e) noexcept override { tell(kind::failed, {}, std::move(e)); }

    /// The answer, once given (none if none came within a minute).
    kind wait() {
        std::unique_lock lock(m_);
        cv_.wait_for(lock, std::chrono::seconds(60), [&] { return calls_ > 0; });
        return what_;
    }
    const std::string& record() const { return record_; }
    std::exception_ptr error() const { return error_; }
    int calls() const {
        std::lock_guard lock(m_);
        return calls_;
    }
    /// The thread that answered.
    std::thread::id thread() const { return thread_; }

private:
    void tell(kind what, std::string record, std::exception_ptr e) {
        std::lock_guard lock(m_);
        if (calls_++ == 0) {
            what_ = what, record_ = std::move(record), error_ = std::move(e);
            thread_ = std::this_thread::get_id();
        }
        cv_.notify_all();
    }

    mutable std::mutex m_;
    std::condition_variable cv_;
    int calls_ = 0;
    kind what_ = kind::none;
    std::string record_;
    std::exception_ptr error_;
    std::thread::id thread_;
};

/// Looks `key` up in `s` and waits: the record, or nothing; rethrows a failure. Throws when
/// no answer came within a minute (leaving the answer to the store, which may still give it).
inline std::optional<std::string> look(const store& s, const hash128& key) {
    auto a = std::make_unique<answer>();
    s.backend()->lookup(key, *a);
    switch (a->wait()) {
        case answer::kind::found:
            return a->record();
        case answer::kind::failed:
            std::rethrow_exception(a->error());
        case answer::kind::missing:
            return std::nullopt;
        default:
            a.release();
            throw std::runtime_error("the store gave no answer within a minute");
    }
}

/// Counts what writes were told.
class write_count final : public detail::store_write {
public:
    void written(bool durable) noexcept override {
        std::lock_guard lock(m_);
        ++(durable ? durable_ : not_durable_);
        cv_.notify_all();
    }
    /// Waits (up to a minute) until `n` writes were told; returns how many were durable.
    int wait(int n) {
        std::unique_lock lock(m_);
        cv_.wait_for(lock, std::chrono::seconds(60), [&] { return durable_ + not_durable_ >= n; });
        return durable_;
    }
    int told() const {
        std::lock_guard lock(m_);
        return durable_ + not_durable_;
    }

private:
    mutable std::mutex m_;
    std::condition_variable cv_;
    int durable_ = 0, not_durable_ = 0;
};

}  // namespace desync::test
