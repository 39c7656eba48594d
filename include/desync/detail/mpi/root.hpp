#pragma once
/// \file
/// Rank 0's communication thread: hands queued calls to workers with free slots (workers pull:
/// each announces its slots once, and every reply frees one), completes the calls with their
/// replies, and at the end tells every worker to stop and waits for each to acknowledge.

#if !defined(DESYNC_HAS_MPI)
#error "<desync/detail/mpi/root.hpp> needs the CMake target desync::mpi (link to it)"
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <desync/detail/mpi/link.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace desync::detail::mpi {

/// Rank 0's communication loop.
class root_loop {
public:
    /// Sends `q`'s calls over `l` until `stop` is set and every call is answered.
    root_loop(link& l, job_queue& q, const std::atomic<bool>& stop)
        : link_(l), queue_(q), stop_(stop), workers_(static_cast<std::size_t>(l.size())) {}

    /// Runs until asked to stop, every call answered and every worker has acknowledged the stop.
    void run() {
        for (;;) {
            bool progress = link_.receive();
            progress |= link_.complete([this](message&& m) { handle(std::move(m)); });
            progress |= dispatch();
            stop_seen_ = stop_.load(std::memory_order_acquire);
            if (!stopping_ && stop_seen_ && in_flight_.empty() && queue_.close_if_empty()) {
                for (int r = 1; r < link_.size(); ++r) link_.send(r, wire::stop, {});
                stopping_ = progress = true;
            }
            if (stopping_ && acks_ == link_.size() - 1 && link_.idle()) return;
            if (progress) {
                link_.busy();
            } else {
                // Replies, hellos and acknowledgements are all a worker ever sends.
                bool expecting =
                    !in_flight_.empty() || hellos_ < link_.size() - 1 || stopping_ || !link_.idle();
                link_.pause(queue_.bell(), expecting, [this] {
                    return (!stop_seen_ && stop_.load(std::memory_order_relaxed)) ||
                           (free_slots_ > 0 && !queue_.empty_locked());
                });
            }
        }
    }

private:
    struct worker {
        std::uint64_t slots = 0;
        std::uint64_t busy = 0;
    };
    struct sent {
        remote_job* job;
        int rank;
        std::chrono::steady_clock::time_point at;
    };

    // Sends queued calls while some worker has a free slot.
    bool dispatch() {
        bool any = false;
        while (free_slots_ > 0) {
            std::chrono::steady_clock::time_point queued_at;
            remote_job* job = queue_.pop(queued_at);
            if (!job) break;
            any = true;
            if (job->args.size() > wire::max_message - wire::job_trailer) {
                job->failed(std::make_exception_ptr(error(
                    "desync::mpi: a call's arguments exceed the 2 GiB an MPI message carries")));
                continue;
            }
            int r = pick();
            std::uint64_t id = next_id_++;
            std::string bytes = std::move(job->args);
            wire::put_u64(bytes, job->function);
            wire::put_u64(bytes, id);
            link_.send(r, wire::job, std::move(bytes));
            auto now = std::chrono::steady_clock::now();
            in_flight_.emplace(id, sent{job, r, now});
            ++workers_[static_cast<std::size_t>(r)].busy;
            --free_slots_;
            counters& c = link_.stats();
            counters::add(c.calls_sent, 1);
            counters::add(c.per_rank[static_cast<std::size_t>(r)], 1);
            counters::add(c.in_flight, 1);
            counters::add(
                c.queue_wait_ns,
                static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now - queued_at).count()));
        }
        return any;
    }

    // The worker with the most free slots, so calls spread; among equals, the one that answered
    // last (its communication thread is awake), then the lowest rank.
    int pick() const {
        int best = 0;
        std::uint64_t most = 0;
        for (int r = 1; r < link_.size(); ++r) {
            const worker& w = workers_[static_cast<std::size_t>(r)];
            std::uint64_t free = w.slots - w.busy;
            if (free > most || (free == most && free > 0 && r == last_answer_)) {
                most = free;
                best = r;
            }
        }
        return best;
    }

    void handle(message&& m) {
        if (!m.incoming) return;  // a send completed: its buffer is released
        switch (m.tag) {
            case wire::hello: {
                if (m.bytes.size() != 8) link_.fatal("a worker's hello is malformed");
                std::uint64_t slots = wire::take_u64(m.bytes);
                workers_[static_cast<std::size_t>(m.peer)].slots += slots;
                ++hellos_;
                free_slots_ += slots;
                link_.stats().slots[static_cast<std::size_t>(m.peer)].store(
                    slots, std::memory_order_relaxed);
                return;
            }
            case wire::result:
            case wire::failure:
                return answer(std::move(m));
            case wire::stop_ack:
                ++acks_;
                return;
            default:
                link_.fatal("rank 0 received a message of unknown kind");
        }
    }

    void answer(message&& m) {
        if (m.bytes.size() < wire::reply_trailer) link_.fatal("a reply is malformed");
        auto it = in_flight_.find(wire::take_u64(m.bytes));
        if (it == in_flight_.end() || it->second.rank != m.peer)
            link_.fatal("a reply answers no call sent to its rank");
        sent s = it->second;
        in_flight_.erase(it);
        last_answer_ = s.rank;
        --workers_[static_cast<std::size_t>(s.rank)].busy;
        ++free_slots_;
        counters& c = link_.stats();
        counters::add(c.remote_wait_ns, static_cast<std::uint64_t>(
                                            std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::steady_clock::now() - s.at)
                                                .count()));
        c.in_flight.store(c.in_flight.load(std::memory_order_relaxed) - 1,
                          std::memory_order_relaxed);
        if (m.tag == wire::result) return s.job->done(std::move(m.bytes));
        counters::add(c.calls_failed, 1);
        wire::failure_text f;
        if (!wire::decode_failure(m.bytes, f)) link_.fatal("a failure reply is malformed");
        s.job->failed(std::make_exception_ptr(remote_error(std::move(f.type), f.message, s.rank)));
    }

    link& link_;
    job_queue& queue_;
    const std::atomic<bool>& stop_;
    std::vector<worker> workers_;  // by rank; [0] unused
    std::unordered_map<std::uint64_t, sent> in_flight_;
    std::uint64_t next_id_ = 1;
    std::uint64_t free_slots_ = 0;
    int last_answer_ = 0;  // the rank of the last reply
    int hellos_ = 0;
    int acks_ = 0;
    bool stop_seen_ = false;  // the stop request, as last read
    bool stopping_ = false;   // stops sent
};

}  // namespace desync::detail::mpi
