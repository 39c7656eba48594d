#pragma once
/// \file
/// A worker's communication thread: once serving, it announces its slots to rank 0, hands each
/// call it receives to the call's handler, sends the replies as the handlers give them (from
/// any thread), and ends when rank 0 says stop.

#if !defined(DESYNC_HAS_MPI)
#error "<desync/detail/mpi/worker.hpp> needs the CMake target desync::mpi (link to it)"
#endif

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <desync/detail/mpi/link.hpp>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace desync::detail::mpi {

/// A worker's communication loop, and where its replies go.
class worker_loop final : public reply_sink {
public:
    /// Takes up to `slots` calls at once over `l`.
    worker_loop(link& l, std::uint64_t slots) : link_(l), slots_(slots) {}

    /// From now on, take calls (serve() was called).
    void start_serving() {
        std::lock_guard lock(bell_.mutex());
        serving_.store(true, std::memory_order_relaxed);
        bell_.ring_locked();
    }

    /// The bell this thread sleeps on.
    mpi::bell& bell() noexcept { return bell_; }

    /// Runs until rank 0 says stop.
    void run() {
        for (;;) {
            bool progress = false;
            if (!hello_sent_ && !stopped_ && serving_.load(std::memory_order_relaxed)) {
                std::string slots;
                wire::put_u64(slots, slots_);
                link_.send(0, wire::hello, std::move(slots));
                hello_sent_ = progress = true;
            }
            progress |= link_.receive(0);
            progress |= link_.complete([this](message&& m) { handle(std::move(m)); });
            progress |= flush();
            if (stopped_ && link_.idle()) break;
            if (progress) {
                link_.busy();
            } else {
                // With every slot busy, rank 0 sends nothing until a reply frees one.
                bool expecting = !hello_sent_ || running_ < slots_ || !link_.idle();
                link_.pause(bell_, expecting, [this] {
                    return !outbox_.empty() ||
                           (!hello_sent_ && serving_.load(std::memory_order_relaxed));
                });
            }
        }
        std::lock_guard lock(bell_.mutex());  // no thread is left inside send_reply
    }

    /// Any thread: queues a reply for the communication thread to send.
    void send_reply(std::uint64_t id, std::string bytes, bool failure) noexcept override {
        if (bytes.size() > wire::max_message - wire::reply_trailer) {
            bytes = wire::encode_failure(
                {"desync::error",
                 "desync::mpi: a result exceeds the 2 GiB an MPI message carries"});
            failure = true;
        }
        wire::put_u64(bytes, id);
        std::lock_guard lock(bell_.mutex());
        outbox_.push_back({std::move(bytes), failure ? wire::failure : wire::result});
        bell_.ring_locked();
    }

private:
    struct outgoing {
        std::string bytes;
        int tag;
    };

    bool flush() {
        {
            std::lock_guard lock(bell_.mutex());
            if (outbox_.empty()) return false;
            std::swap(outbox_, sending_);
        }
        for (outgoing& o : sending_) link_.send(0, o.tag, std::move(o.bytes));
        running_ -= sending_.size();
        sending_.clear();
        return true;
    }

    void handle(message&& m) {
        if (!m.incoming) return;  // a send completed
        switch (m.tag) {
            case wire::job:
                return start(std::move(m.bytes));
            case wire::stop:
                stopped_ = true;
                link_.send(0, wire::stop_ack, {});
                return;
            default:
                link_.fatal("a worker received a message of unknown kind");
        }
    }

    // Runs the call's handler here, on the communication thread; it hands the body to a pool.
    void start(std::string bytes) {
        if (bytes.size() < wire::job_trailer) link_.fatal("a call is malformed");
        std::uint64_t id = wire::take_u64(bytes);
        std::uint64_t function = wire::take_u64(bytes);
        counters::add(link_.stats().calls_run, 1);
        ++running_;
        reply r(this, id);
        handler_entry h = handlers().find(function);
        try {
            if (!h) throw error(unknown(function));
            h(std::move(bytes), r);
        } catch (...) {
            if (r) r.fail(std::current_exception());
        }
    }

    std::string unknown(std::uint64_t function) const {
        char text[128];
        std::snprintf(text, sizeof text,
                      "desync::mpi: rank %d has no distributed function with full hash %016llx",
                      link_.rank(), static_cast<unsigned long long>(function));
        return text;
    }

    link& link_;
    std::uint64_t slots_;
    mpi::bell bell_;
    std::vector<outgoing> outbox_;   // under bell_.mutex()
    std::vector<outgoing> sending_;  // the communication thread's
    std::atomic<bool> serving_{false};
    std::uint64_t running_ = 0;  // calls received and not yet answered
    bool hello_sent_ = false;
    bool stopped_ = false;
};

}  // namespace desync::detail::mpi
