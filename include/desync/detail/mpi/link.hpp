#pragma once
/// \file
/// What both ends of the MPI transport share on their communication thread: the nonblocking
/// sends and receives in flight (each with its buffer), the counters behind cluster::stats(),
/// and the poll-then-sleep rhythm of a thread that MPI cannot wake.

#if !defined(DESYNC_HAS_MPI)
#error "<desync/detail/mpi/link.hpp> needs the CMake target desync::mpi (link to it)"
#endif

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <desync/detail/mpi/transport.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace desync::detail::mpi {

/// What cluster::stats() reports, written by the communication thread, read by any thread.
struct counters {
    explicit counters(int size)
        : per_rank(std::make_unique<std::atomic<std::uint64_t>[]>(static_cast<std::size_t>(size))),
          slots(std::make_unique<std::atomic<std::uint64_t>[]>(static_cast<std::size_t>(size))) {}
    std::atomic<std::uint64_t> calls_sent{0}, calls_failed{0}, calls_run{0};
    std::atomic<std::uint64_t> bytes_sent{0}, bytes_received{0};
    std::atomic<std::uint64_t> queue_wait_ns{0}, remote_wait_ns{0}, in_flight{0};
    std::unique_ptr<std::atomic<std::uint64_t>[]> per_rank;  // rank 0: calls sent to each rank
    std::unique_ptr<std::atomic<std::uint64_t>[]> slots;     // rank 0: each worker's slots

    /// Adds to a counter that only the communication thread writes.
    static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

/// How the communication thread waits, since no MPI call both waits for a message and can be
/// woken by another thread: it polls for `spin` after its last piece of work, then sleeps
/// between polls, twice as long each time up to `max_sleep`, unless its bell rings.
struct rhythm {
    std::chrono::microseconds spin{50};        ///< polling without sleeping after work
    std::chrono::microseconds max_sleep{200};  ///< the longest sleep between two polls
};

/// A message received, or a send completed.
struct message {
    std::string bytes;
    int peer = 0;
    int tag = 0;
    bool incoming = false;
};

/// One rank's end of the transport: its communicator and the operations in flight on it.
class link {
public:
    /// Talks on `comm` (a duplicate of MPI_COMM_WORLD), waiting as `r` says.
    link(MPI_Comm comm, int rank, int size, rhythm r)
        : comm_(comm), rank_(rank), size_(size), rhythm_(r), stats_(size) {}

    /// This rank.
    int rank() const noexcept { return rank_; }
    /// The number of ranks.
    int size() const noexcept { return size_; }
    /// What cluster::stats() reports.
    counters& stats() noexcept { return stats_; }
    /// What cluster::stats() reports.
    const counters& stats() const noexcept { return stats_; }

    /// Sends `bytes` to `peer` without waiting; the buffer lives until the send completes.
    void send(int peer, int tag, std::string bytes) {
        op& o = start(std::move(bytes), peer, tag, false);
        counters::add(stats_.bytes_sent, o.msg.bytes.size());
        MPI_Isend(o.msg.bytes.data(), static_cast<int>(o.msg.bytes.size()), MPI_BYTE, peer, tag,
                  comm_, &requests_.back());
    }

    /// Starts receiving every message that has arrived (from `source`, or anyone); true if any.
    bool receive(int source = MPI_ANY_SOURCE) {
        bool any = false;
        for (int i = 0; i < 64; ++i) {  // a bound, so sends and replies get their turn
            int flag = 0;
            MPI_Message handle;
            MPI_Status status;
            MPI_Improbe(source, MPI_ANY_TAG, comm_, &flag, &handle, &status);
            if (!flag) break;
            int count = 0;
            MPI_Get_count(&status, MPI_BYTE, &count);
            std::string bytes(static_cast<std::size_t>(count), '\0');
            op& o = start(std::move(bytes), status.MPI_SOURCE, status.MPI_TAG, true);
            counters::add(stats_.bytes_received, o.msg.bytes.size());
            MPI_Imrecv(o.msg.bytes.data(), count, MPI_BYTE, &handle, &requests_.back());
            any = true;
        }
        return any;
    }

    /// Completes what has finished, calling `f(message&&)` for each, in the order they
    /// finished; `f` may send. Returns whether anything completed.
    template <class F>
    bool complete(F&& f) {
        if (requests_.empty()) return false;
        int count = 0;
        done_.resize(requests_.size());
        MPI_Testsome(static_cast<int>(requests_.size()), requests_.data(), &count, done_.data(),
                     MPI_STATUSES_IGNORE);
        if (count <= 0) return false;  // MPI_UNDEFINED: no active request
        finished_.clear();
        std::sort(done_.begin(), done_.begin() + count, std::greater<>());
        for (int k = 0; k < count; ++k) {  // highest index first, so swap-removal keeps the rest
            auto i = static_cast<std::size_t>(done_[static_cast<std::size_t>(k)]);
            finished_.push_back(std::move(ops_[i]));
            ops_[i] = std::move(ops_.back());
            ops_.pop_back();
            requests_[i] = requests_.back();
            requests_.pop_back();
        }
        for (auto& o : finished_) {
            f(std::move(o->msg));
            o->msg.bytes.clear();
            spare_.push_back(std::move(o));
        }
        return true;
    }

    /// Whether no send or receive is in flight.
    bool idle() const noexcept { return requests_.empty(); }

    /// Work was done: the next wait starts with polling again.
    void busy() noexcept {
        spun_ = {};
        last_poll_ = {};
        sleep_ = std::chrono::microseconds(4);
    }

    /// Nothing to do now: polls on (returning at once) during the spin, then sleeps on `b`
    /// unless `ready()` holds under its lock: until rung if no message can come (`expecting`
    /// false: nothing is in flight that would be answered), else between polls. The spin
    /// counts only time this thread ran: on a machine with more threads than cores, a thread
    /// preempted mid-spin still polls when it runs again, rather than sleeping through the
    /// reply it was waiting for.
    template <class Ready>
    void pause(bell& b, bool expecting, Ready ready) {
        using namespace std::chrono;
        auto now = steady_clock::now();
        if (last_poll_ != steady_clock::time_point{})
            spun_ += std::min<steady_clock::duration>(now - last_poll_, microseconds(5));
        last_poll_ = now;
        if (spun_ < rhythm_.spin) {
            std::this_thread::yield();  // with more threads than cores, let the others run
            return;
        }
        if (!expecting) {
            b.sleep(milliseconds(100), ready);  // the timeout is only a safety net
            busy();
            return;
        }
        b.sleep(sleep_, ready);
        last_poll_ = steady_clock::now();
        sleep_ = std::min(sleep_ * 2, rhythm_.max_sleep);
    }

    /// Ends the job: a broken protocol cannot be recovered from.
    [[noreturn]] void fatal(const char* what) {
        std::fprintf(stderr, "desync::mpi: rank %d: %s; aborting the MPI job\n", rank_, what);
        std::fflush(stderr);
        MPI_Abort(comm_, 1);
        std::abort();
    }

private:
    struct op {
        message msg;
    };

    // Buffers sit in heap nodes that never move while MPI reads or fills them; nodes are reused.
    op& start(std::string bytes, int peer, int tag, bool incoming) {
        std::unique_ptr<op> o;
        if (spare_.empty()) {
            o = std::make_unique<op>();
        } else {
            o = std::move(spare_.back());
            spare_.pop_back();
        }
        o->msg.bytes = std::move(bytes);
        o->msg.peer = peer;
        o->msg.tag = tag;
        o->msg.incoming = incoming;
        ops_.push_back(std::move(o));
        requests_.push_back(MPI_REQUEST_NULL);
        return *ops_.back();
    }

    MPI_Comm comm_;
    int rank_;
    int size_;
    rhythm rhythm_;
    counters stats_;
    std::vector<MPI_Request> requests_;
    std::vector<std::unique_ptr<op>> ops_;  // parallel to requests_
    std::vector<std::unique_ptr<op>> finished_, spare_;
    std::vector<int> done_;
    std::chrono::steady_clock::duration spun_{};  // polling since the last work
    std::chrono::steady_clock::time_point last_poll_{};
    std::chrono::microseconds sleep_{4};  // the next sleep
};

}  // namespace desync::detail::mpi
