#pragma once
/// \file
/// One rank's communication thread, which makes every MPI call of the transport: it initializes
/// MPI (so it is MPI's main thread, and the transport needs no more than MPI_THREAD_FUNNELED),
/// checks with every rank that all run the same build, runs rank 0's or a worker's loop, and
/// finalizes MPI once every rank has agreed to stop.

#if !defined(DESYNC_HAS_MPI)
#error "<desync/detail/mpi/node.hpp> needs the CMake target desync::mpi (link to it)"
#endif

#include <desync/detail/cache/header.hpp>
#include <desync/detail/mpi/root.hpp>
#include <desync/detail/mpi/worker.hpp>

#if __has_include(<sys/prctl.h>)
#include <sys/prctl.h>
#endif

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace desync::detail::mpi {

/// How a rank takes part: the calls a worker takes at once, and the communication rhythm.
struct node_config {
    std::uint64_t slots = 1;
    mpi::rhythm rhythm;
};

/// One rank's part in the cluster: its communication thread and what it found at start.
class node {
public:
    /// Starts the communication thread and waits until MPI runs and the build check is done.
    /// (MPI errors, and an exception from the build digest, end the whole job.)
    node(int* argc, char*** argv, node_config config) : config_(config) {
        std::promise<void> started;
        std::future<void> ready = started.get_future();
        thread_ = std::thread(
            [this, argc, argv, p = std::move(started)]() mutable { main(argc, argv, p); });
        ready.get();
    }
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// On rank 0: waits for every queued call, stops the workers. On a worker: waits until rank
    /// 0 has stopped it. Then MPI is finalized.
    ~node() {
        stop_.store(true, std::memory_order_release);
        wake_->ring();
        thread_.join();
    }

    /// This rank.
    int rank() const noexcept { return rank_; }
    /// The number of ranks.
    int size() const noexcept { return size_; }
    /// Why the cluster was refused (not every rank runs this build), or empty.
    const std::string& refusal() const noexcept { return refusal_; }
    /// The counters, or nullptr (one rank, or refused).
    const counters* stats() const noexcept { return link_ ? &link_->stats() : nullptr; }

    /// A worker: takes calls until rank 0 stops it; returns its exit code.
    int serve() {
        if (!refusal_.empty()) return EXIT_FAILURE;
        if (serving_.exchange(true))
            throw error("desync::mpi::cluster::serve: this rank already serves");
        worker_->start_serving();
        finished_.get_future().wait();
        return EXIT_SUCCESS;
    }

private:
    void main(int* argc, char*** argv, std::promise<void>& started) {
#ifdef PR_SET_TIMERSLACK
        prctl(PR_SET_TIMERSLACK, 1000ul);  // its short sleeps end on time (Linux: 50 us late)
#endif
        int provided = 0;
        MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);  // MPI errors end the job
        MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
        try {
            check(provided);
        } catch (const std::exception& e) {  // the others wait in the check: end the job
            std::fprintf(stderr, "desync::mpi: rank %d cannot check its build: %s\n", rank_,
                         e.what());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (refusal_.empty() && size_ > 1) {
            link_ = std::make_unique<link>(comm_, rank_, size_, config_.rhythm);
            if (rank_ == 0) {
                root_loop loop(*link_, root_queue(), stop_);
                wake_ = &root_queue().bell();
                root_queue().open();
                started.set_value();
                loop.run();
            } else {
                worker_ = std::make_unique<worker_loop>(*link_, config_.slots);
                wake_ = &worker_->bell();
                started.set_value();
                worker_->run();
                finished_.set_value();
            }
        } else {
            started.set_value();
            while (!stop_.load(std::memory_order_acquire))
                idle_.sleep(std::chrono::seconds(1), [this] { return stop_.load(); });
        }
        MPI_Comm_free(&comm_);
        MPI_Finalize();
    }

    // Every rank learns every rank's build; any difference refuses the whole cluster.
    void check(int provided) {
        const std::string& fingerprint = cache_format::fingerprint();
        wire::check_record mine{wire::protocol, xxh3_64(std::string_view(fingerprint), 0x6d7069),
                                build_digest()(), static_cast<std::uint64_t>(provided)};
        std::vector<wire::check_record> all(static_cast<std::size_t>(size_));
        MPI_Allgather(&mine, 4, MPI_UINT64_T, all.data(), 4, MPI_UINT64_T, comm_);
        std::string reasons;
        const wire::check_record& root = all[0];
        for (int r = 0; r < size_; ++r) {
            const wire::check_record& theirs = all[static_cast<std::size_t>(r)];
            std::string why;
            if (theirs.protocol != root.protocol)
                why = "speaks another version of desync's MPI protocol";
            else if (theirs.fingerprint != root.fingerprint)
                why = "was built with another compiler, standard library or flags";
            else if (theirs.digest != root.digest)
                why = "has other functions (digest " + hex(theirs.digest) +
                      ", rank 0: " + hex(root.digest) + ")";
            else if (theirs.threads < MPI_THREAD_FUNNELED)
                why = "got only MPI_THREAD_SINGLE from MPI_Init_thread";
            if (!why.empty())
                reasons += (reasons.empty() ? "rank " : "; rank ") + std::to_string(r) + " " + why;
        }
        if (reasons.empty()) return;
        refusal_ =
            "desync::mpi::cluster: the ranks do not all run the same build, so results "
            "could differ silently: " +
            reasons + ". Rank " + std::to_string(rank_) + " was built as: " + fingerprint;
        if (rank_ != 0)
            std::fprintf(stderr, "desync::mpi: rank %d will not serve: %s\n", rank_,
                         refusal_.c_str());
    }

    static std::string hex(std::uint64_t v) {
        char text[24];
        std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
        return text;
    }

    node_config config_;
    std::thread thread_;
    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0;
    int size_ = 1;
    std::string refusal_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> serving_{false};
    bell idle_;
    bell* wake_ = &idle_;  // what the communication thread sleeps on
    std::unique_ptr<link> link_;
    std::unique_ptr<worker_loop> worker_;
    std::promise<void> finished_;  // a worker's loop ended
};

}  // namespace desync::detail::mpi
