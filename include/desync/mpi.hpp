#pragma once
/// \file
/// Calls on many machines: a `desync::mpi::cluster` makes the ranks of an MPI job (started by
/// `mpirun` or `srun`) one pool. Rank 0 runs the program and hands its distributed calls to the
/// other ranks, which serve them. See docs/mpi.md.

#if !defined(DESYNC_HAS_MPI)
#error "<desync/mpi.hpp> needs the CMake target desync::mpi: target_link_libraries(app desync::mpi)"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <desync/detail/mpi/calls.hpp>
#include <desync/detail/mpi/node.hpp>
#include <desync/error.hpp>
#include <desync/scheduler.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace desync::mpi {

/// How this process takes part in a cluster.
struct options {
    /// Calls a worker runs at once (the calls it asks rank 0 for); 0: the size of desync's
    /// compute pool (desync::configure's compute_threads, else one per core).
    std::size_t slots = 0;
    /// How long the communication thread keeps polling MPI after its last message before it
    /// starts sleeping between polls: latency for CPU time.
    std::chrono::microseconds spin{50};
    /// The longest it sleeps between two polls when idle: the latency of a message that finds
    /// it asleep.
    std::chrono::microseconds max_sleep{200};
};

/// What the transport did so far. Rank 0 counts calls; every rank counts its own bytes.
struct cluster_stats {
    std::uint64_t calls_sent = 0;    ///< rank 0: calls sent to workers
    std::uint64_t calls_failed = 0;  ///< rank 0: calls answered with an error (remote_error)
    std::uint64_t calls_run = 0;     ///< a worker: calls it received and handed to their handler
    std::vector<std::uint64_t> calls_per_rank;  ///< rank 0: calls sent to each rank ([0] is 0)
    std::vector<std::uint64_t> slots;           ///< rank 0: each worker's slots (0 until it serves)
    std::uint64_t queued = 0;                   ///< rank 0: calls waiting now for a free slot
    std::uint64_t in_flight = 0;                ///< rank 0: calls sent and not answered yet
    std::uint64_t bytes_sent = 0;      ///< this rank: bytes of all messages it sent (with ids)
    std::uint64_t bytes_received = 0;  ///< this rank: bytes of all messages it received
    /// Rank 0: summed over sent calls, the time from submission to sending (no free slot).
    std::chrono::nanoseconds queue_wait{0};
    /// Rank 0: summed over answered calls, the time from sending to the reply's arrival.
    std::chrono::nanoseconds remote_wait{0};
};

/// The MPI job this process belongs to: MPI_Init_thread in the constructor, MPI_Finalize at
/// its end. One per process, constructed once (MPI cannot be initialized twice).
class cluster {
public:
    /// Joins the MPI job (MPI may remove its own arguments from argc and argv) and checks that
    /// every rank runs this same build; if not, rank 0 throws desync::error (the other ranks
    /// print why, and serve() returns EXIT_FAILURE).
    cluster(int& argc, char**& argv, options o = {}) : cluster(&argc, &argv, o) {}
    /// The same, without the program's arguments.
    explicit cluster(options o = {}) : cluster(nullptr, nullptr, o) {}
    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;
    /// Rank 0: distributed calls made from now on run here; waits for every call submitted,
    /// then stops the workers. A worker: waits until rank 0 has stopped it. Then MPI is
    /// finalized.
    ~cluster() {
        if (installed_) detail::installed_remote.store(nullptr, std::memory_order_release);
    }

    /// Whether this is rank 0, the rank that runs the program and hands out calls.
    bool is_root() const noexcept { return node_->rank() == 0; }
    /// This process's rank, 0 to size() - 1.
    int rank() const noexcept { return node_->rank(); }
    /// The number of ranks (1 without mpirun).
    int size() const noexcept { return node_->size(); }

    /// Ranks 1 to size() - 1: runs calls until rank 0 is done; returns the exit code for main
    /// (EXIT_FAILURE if this rank's build was refused). Throws desync::error on rank 0.
    int serve() {
        if (is_root())
            throw error(
                "desync::mpi::cluster::serve: rank 0 runs the program; only the other "
                "ranks serve (if (!cluster.is_root()) return cluster.serve();)");
        return node_->serve();
    }

    /// What the transport did so far (see cluster_stats for what each field counts).
    cluster_stats stats() const {
        cluster_stats s;
        const auto size = static_cast<std::size_t>(node_->size());
        s.calls_per_rank.assign(size, 0);
        s.slots.assign(size, 0);
        s.queued = is_root() ? detail::mpi::root_queue().size() : 0;
        const detail::mpi::counters* c = node_->stats();
        if (!c) return s;
        auto get = [](const std::atomic<std::uint64_t>& a) {
            return a.load(std::memory_order_relaxed);
        };
        s.calls_sent = get(c->calls_sent);
        s.calls_failed = get(c->calls_failed);
        s.calls_run = get(c->calls_run);
        for (std::size_t r = 0; r < size; ++r) {
            s.calls_per_rank[r] = get(c->per_rank[r]);
            s.slots[r] = get(c->slots[r]);
        }
        s.in_flight = get(c->in_flight);
        s.bytes_sent = get(c->bytes_sent);
        s.bytes_received = get(c->bytes_received);
        s.queue_wait = std::chrono::nanoseconds(get(c->queue_wait_ns));
        s.remote_wait = std::chrono::nanoseconds(get(c->remote_wait_ns));
        return s;
    }

private:
    cluster(int* argc, char*** argv, options o) {
        if (once().exchange(true))
            throw error(
                "desync::mpi::cluster: a process constructs one cluster (MPI cannot be "
                "initialized twice)");
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized)
            throw error(
                "desync::mpi::cluster: MPI is already initialized; construct the cluster "
                "instead of calling MPI_Init (it asks for MPI_THREAD_MULTIPLE)");
        detail::mpi::register_distributed();  // before the build check, which counts them
        node_ = std::make_unique<detail::mpi::node>(argc, argv, config(o));
        if (node_->rank() == 0 && !node_->refusal().empty()) {
            std::string why = node_->refusal();
            node_.reset();  // every rank finalizes MPI
            throw error(why);
        }
        if (node_->rank() == 0 && node_->size() > 1) {  // distributed calls go to the workers
            detail::installed_remote.store(&detail::mpi::to_workers, std::memory_order_release);
            installed_ = true;
        }
    }

    static detail::mpi::node_config config(const options& o) {
        std::size_t slots = o.slots ? o.slots : detail::runtime::requested().compute_threads;
        if (!slots) slots = std::max(1u, std::thread::hardware_concurrency());
        return {slots, {o.spin, o.max_sleep}};
    }

    static std::atomic<bool>& once() {
        static std::atomic<bool> constructed{false};
        return constructed;
    }

    std::unique_ptr<detail::mpi::node> node_;
    bool installed_ = false;  // rank 0 hands distributed calls to the workers
};

}  // namespace desync::mpi
