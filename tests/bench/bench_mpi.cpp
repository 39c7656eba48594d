// The MPI transport against hand-written MPI code doing the same work with the same bytes, in one
// MPI job of 3 ranks (rank 0 and two workers), each case against its peer in the same run:
//  (a) sweep: 1,000 calls of 10 ms each (asleep, or of CPU time), against a master-worker loop
//      whose workers run as many threads as desync's workers have slots;
//  (b) roundtrip: one empty call and its reply, against an MPI_Send/MPI_Recv ping-pong of the
//      bytes desync puts on the wire (the call's 16 bytes of ids, the reply's 8);
//  (c) throughput: 10,000 empty calls handed to the two workers, against the same master-worker
//      loop, and against a loop whose single-threaded workers keep as many calls queued.
// Started alone, the program starts itself again under mpiexec with 3 ranks (the command the
// build configured), so `build/bench/tests/bench/bench_mpi` is the whole command. Rank 0 runs
// Google Benchmark with the shared ratio main; the workers serve desync's calls on one thread
// and run the peers' loops on their main thread when rank 0 says so.
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <desync/mpi.hpp>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_mpi_launch.hpp"  // generated: the mpiexec command and environment

#define main desync_ratio_main  // the shared main runs on rank 0 only
#include "ratio_main.cpp"
#undef main

namespace dm = desync::detail::mpi;

namespace {

constexpr int slots = 2;  // a worker's slots, and a peer worker's threads or queued calls
constexpr int sweep_calls = 1000;
constexpr int throughput_calls = 10000;
constexpr std::size_t sweep_args = 64;  // bytes of arguments of a sweep call
constexpr std::size_t sweep_result = 8;

desync::mpi::cluster* the_cluster = nullptr;

enum class work : int { none = 0, sleep = 1, spin = 2 };

// This thread's CPU time.
std::chrono::nanoseconds cpu_time() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

// 10 ms asleep, or 10 ms of this thread's CPU time (not of the wall clock: a thread that waits
// for a core does no work meanwhile).
void run(work w) {
    using namespace std::chrono;
    if (w == work::sleep) std::this_thread::sleep_for(milliseconds(10));
    if (w == work::spin)
        for (auto until = cpu_time() + milliseconds(10); cpu_time() < until;) {
        }
}

// ---- desync's side: handlers on the workers, calls on rank 0

boost::asio::thread_pool& worker_pool() {
    static boost::asio::thread_pool pool(slots);
    return pool;
}

std::size_t result_size(const std::string& args) { return args.empty() ? 0 : sweep_result; }

template <work W>
void on_pool(std::string args, dm::reply& r) {
    boost::asio::post(worker_pool(), [n = result_size(args), r = std::move(r)]() mutable {
        run(W);
        r.done(std::string(n, 'r'));
    });
}
void inline_empty(std::string, dm::reply& r) { r.done({}); }

constexpr std::uint64_t inline_empty_id = 0xbe9c'0001;
constexpr std::uint64_t pool_empty_id = 0xbe9c'0002;
constexpr std::uint64_t pool_sleep_id = 0xbe9c'0003;
constexpr std::uint64_t pool_spin_id = 0xbe9c'0004;

[[maybe_unused]] const bool registered = [] {
    dm::register_handler(inline_empty_id, &inline_empty);
    dm::register_handler(pool_empty_id, &on_pool<work::none>);
    dm::register_handler(pool_sleep_id, &on_pool<work::sleep>);
    dm::register_handler(pool_spin_id, &on_pool<work::spin>);
    return true;
}();

/// A batch of calls; the bench thread waits for all of them.
struct batch {
    struct call final : dm::remote_job {
        batch* owner = nullptr;
        void done(std::string) noexcept override { owner->finish(); }
        void failed(std::exception_ptr) noexcept override {
            owner->error.store(true);
            owner->finish();
        }
    };
    explicit batch(int n) : calls(static_cast<std::size_t>(n)) {
        for (call& c : calls) {
            c.owner = this;
            jobs.push_back(&c);
        }
    }
    void finish() noexcept {
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining.notify_one();
    }
    // Submits every call and waits, sleeping, until all are answered.
    bool run(std::uint64_t function, std::size_t args) {
        remaining.store(static_cast<int>(calls.size()));
        for (call& c : calls) {
            c.function = function;
            c.args.assign(args, 'a');
        }
        dm::submit(jobs);
        for (int left; (left = remaining.load(std::memory_order_acquire)) != 0;)
            remaining.wait(left, std::memory_order_acquire);
        return !error.load();
    }
    std::vector<call> calls;
    std::vector<dm::remote_job*> jobs;  // the same, as submitted together
    std::atomic<int> remaining{0};
    std::atomic<bool> error{false};
};

/// One call at a time; the bench thread spins until its answer.
struct single final : dm::remote_job {
    void done(std::string) noexcept override { answered.store(true, std::memory_order_release); }
    void failed(std::exception_ptr) noexcept override {
        error = true;
        answered.store(true, std::memory_order_release);
    }
    bool run(std::uint64_t id) {
        function = id;
        answered.store(false, std::memory_order_relaxed);
        dm::submit(this);
        while (!answered.load(std::memory_order_acquire)) std::this_thread::yield();
        return !error;
    }
    std::atomic<bool> answered{false};
    bool error = false;
};

// ---- the peers: hand-written MPI on MPI_COMM_WORLD, driven by commands from rank 0

constexpr int command_tag = 30000;  // above every thread tag
enum class kind : int { quit, pingpong, farm_threads, farm_window };
struct command {
    kind what = kind::quit;
    work w = work::none;
    int args = 0;    // bytes of arguments (the peers send 16 more, as desync does)
    int result = 0;  // bytes of result (the peers send 8 more, as desync does)
};

void start_phase(const command& c) {
    for (int r = 1; r < the_cluster->size(); ++r)
        MPI_Send(&c, static_cast<int>(sizeof c), MPI_BYTE, r, command_tag, MPI_COMM_WORLD);
}

// The ping-pong: rank 1 echoes until an empty message.
void pingpong_worker(const command& c) {
    std::string in(static_cast<std::size_t>(c.args) + 16, 'a');
    std::string out(static_cast<std::size_t>(c.result) + 8, 'r');
    for (;;) {
        MPI_Status status;
        MPI_Recv(in.data(), static_cast<int>(in.size()), MPI_BYTE, 0, 0, MPI_COMM_WORLD, &status);
        int count = 0;
        MPI_Get_count(&status, MPI_BYTE, &count);
        if (count == 0) return;
        MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, 0, 0, MPI_COMM_WORLD);
    }
}

// One peer worker thread (or the single thread of a windowed worker): receives a call, runs
// it, sends the result; an empty message ends it. Threads tell rank 0 they are ready first.
void farm_worker(const command& c, int tag, bool say_ready) {
    std::string in(static_cast<std::size_t>(c.args) + 16, 'a');
    std::string out(static_cast<std::size_t>(c.result) + 8, 'r');
    if (say_ready) MPI_Send(nullptr, 0, MPI_BYTE, 0, tag, MPI_COMM_WORLD);
    for (;;) {
        MPI_Status status;
        MPI_Recv(in.data(), static_cast<int>(in.size()), MPI_BYTE, 0, tag, MPI_COMM_WORLD, &status);
        int count = 0;
        MPI_Get_count(&status, MPI_BYTE, &count);
        if (count == 0) return;
        run(c.w);
        MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, 0, tag, MPI_COMM_WORLD);
    }
}

// A worker's main thread: waits (sleeping between polls, so as not to take a core from the
// calls) for rank 0's commands and runs the peer's side of each phase.
int worker_main() {
    int code = 0;
    std::thread server([&] { code = the_cluster->serve(); });
    for (;;) {
        command c;
        MPI_Request request;
        MPI_Irecv(&c, static_cast<int>(sizeof c), MPI_BYTE, 0, command_tag, MPI_COMM_WORLD,
                  &request);
        for (int done = 0; !done;) {
            MPI_Test(&request, &done, MPI_STATUS_IGNORE);
            if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (c.what == kind::quit) break;
        if (c.what == kind::pingpong && the_cluster->rank() == 1) pingpong_worker(c);
        if (c.what == kind::farm_window) farm_worker(c, 0, false);
        if (c.what == kind::farm_threads) {
            std::vector<std::thread> threads;
            for (int t = 0; t < slots; ++t) threads.emplace_back(farm_worker, c, t, true);
            for (auto& t : threads) t.join();
        }
    }
    server.join();
    return code;
}

/// Rank 0's side of a master-worker phase: hands out `calls` calls per iteration.
class farm_master {
public:
    explicit farm_master(const command& c)
        : c_(c),
          job_(static_cast<std::size_t>(c.args) + 16, 'a'),
          result_(static_cast<std::size_t>(c.result) + 8, 'r') {
        start_phase(c);
        if (c.what == kind::farm_threads) {  // every worker thread says it is ready
            for (int i = 0; i < workers() * slots; ++i) {
                MPI_Status status;
                MPI_Recv(nullptr, 0, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                         &status);
            }
        }
    }
    ~farm_master() {
        for (int r = 1; r <= workers(); ++r)
            for (int t = 0; t < (c_.what == kind::farm_threads ? slots : 1); ++t)
                MPI_Send(nullptr, 0, MPI_BYTE, r, c_.what == kind::farm_threads ? t : 0,
                         MPI_COMM_WORLD);
    }

    // Every worker thread (or worker, `slots` times) waits for a call: start them all, then
    // answer each result with the next call until `calls` are done.
    void iteration(int calls) {
        int sent = 0, done = 0;
        for (int r = 1; r <= workers(); ++r)
            for (int t = 0; t < slots && sent < calls; ++t, ++sent)
                send(r, c_.what == kind::farm_threads ? t : 0);
        while (done < calls) {
            MPI_Status status;
            MPI_Recv(result_.data(), static_cast<int>(result_.size()), MPI_BYTE, MPI_ANY_SOURCE,
                     MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            ++done;
            if (sent < calls) {
                send(status.MPI_SOURCE, status.MPI_TAG);
                ++sent;
            }
        }
    }

private:
    int workers() const { return the_cluster->size() - 1; }
    void send(int rank, int tag) {
        MPI_Send(job_.data(), static_cast<int>(job_.size()), MPI_BYTE, rank, tag, MPI_COMM_WORLD);
    }
    command c_;
    std::string job_, result_;
};

// ---- (a) sweep: 1,000 calls of 10 ms

void sweep_desync(benchmark::State& state, std::uint64_t id) {
    batch b(sweep_calls);
    for (auto _ : state)
        if (!b.run(id, sweep_args)) state.SkipWithError("a call failed");
    state.SetItemsProcessed(state.iterations() * sweep_calls);
}
void sweep_peer(benchmark::State& state, work w) {
    farm_master m({kind::farm_threads, w, int(sweep_args), int(sweep_result)});
    for (auto _ : state) m.iteration(sweep_calls);
    state.SetItemsProcessed(state.iterations() * sweep_calls);
}

// ---- (b) round trip of one empty call

void roundtrip_desync(benchmark::State& state, std::uint64_t id) {
    single call;
    for (auto _ : state)
        if (!call.run(id)) state.SkipWithError("the call failed");
}
void roundtrip_peer(benchmark::State& state) {
    start_phase({kind::pingpong, work::none, 0, 0});
    std::string job(16, 'a'), result(8, 'r');
    for (auto _ : state) {
        MPI_Send(job.data(), 16, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(result.data(), 8, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    MPI_Send(nullptr, 0, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
}

// For reading (b): two threads of rank 0 handing a token back and forth, waiting as the
// transport's threads wait (polling, yielding the core). Half its time is one thread hand-off.
void handoff_two_threads(benchmark::State& state) {
    std::atomic<std::int64_t> token{0};
    std::atomic<bool> stop{false};
    std::thread other([&] {
        for (std::int64_t seen = 1; !stop.load(std::memory_order_relaxed); seen += 2) {
            while (token.load(std::memory_order_acquire) != seen)
                if (stop.load(std::memory_order_relaxed))
                    return;
                else
                    std::this_thread::yield();
            token.store(seen + 1, std::memory_order_release);
        }
    });
    std::int64_t next = 0;
    for (auto _ : state) {
        token.store(next + 1, std::memory_order_release);
        while (token.load(std::memory_order_acquire) != next + 2) std::this_thread::yield();
        next += 2;
    }
    stop.store(true);
    other.join();
}

// ---- (c) throughput: 10,000 empty calls over two workers

void throughput_desync(benchmark::State& state, std::uint64_t id) {
    batch b(throughput_calls);
    for (auto _ : state)
        if (!b.run(id, 0)) state.SkipWithError("a call failed");
    state.SetItemsProcessed(state.iterations() * throughput_calls);
}
void throughput_peer(benchmark::State& state, kind k) {
    farm_master m({k, work::none, 0, 0});
    for (auto _ : state) m.iteration(throughput_calls);
    state.SetItemsProcessed(state.iterations() * throughput_calls);
}

void register_benchmarks() {
    using benchmark::RegisterBenchmark;
    auto sweep = [](const char* name, auto f, auto arg) {
        RegisterBenchmark(name, f, arg)
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1)
            ->UseRealTime();
    };
    sweep("sweep_1000x10ms_sleep/desync", sweep_desync, pool_sleep_id);
    sweep("sweep_1000x10ms_sleep/peer:mpi_master_worker", sweep_peer, work::sleep);
    sweep("sweep_1000x10ms_spin/desync", sweep_desync, pool_spin_id);
    sweep("sweep_1000x10ms_spin/peer:mpi_master_worker", sweep_peer, work::spin);

    auto roundtrip = [](const char* name, auto f, auto... arg) {
        RegisterBenchmark(name, f, arg...)->Unit(benchmark::kMicrosecond)->UseRealTime();
    };
    roundtrip("roundtrip_empty_inline/desync", roundtrip_desync, inline_empty_id);
    roundtrip("roundtrip_empty_inline/peer:mpi_pingpong", roundtrip_peer);
    roundtrip("roundtrip_empty_pool/desync", roundtrip_desync, pool_empty_id);
    roundtrip("roundtrip_empty_pool/peer:mpi_pingpong", roundtrip_peer);
    RegisterBenchmark("handoff_two_threads_roundtrip", handoff_two_threads)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();

    auto throughput = [](const char* name, auto f, auto arg) {
        RegisterBenchmark(name, f, arg)->Unit(benchmark::kMillisecond)->UseRealTime();
    };
    throughput("throughput_10000_empty_inline/desync", throughput_desync, inline_empty_id);
    throughput("throughput_10000_empty_inline/peer:mpi_master_worker", throughput_peer,
               kind::farm_threads);
    throughput("throughput_10000_empty_inline/peer:mpi_window", throughput_peer, kind::farm_window);
    throughput("throughput_10000_empty_pool/desync", throughput_desync, pool_empty_id);
    throughput("throughput_10000_empty_pool/peer:mpi_master_worker", throughput_peer,
               kind::farm_threads);
}

// Started by hand rather than by mpiexec (or srun): start again under mpiexec, with 3 ranks.
bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
        if (std::getenv(v)) return true;
    return false;
}

[[noreturn]] void relaunch(int argc, char** argv) {
    for (const char* setting : launch::mpi_environment) putenv(const_cast<char*>(setting));
    std::vector<char*> args;
    for (const char* a : launch::mpiexec) args.push_back(const_cast<char*>(a));
    args.push_back(const_cast<char*>(launch::numproc_flag));
    args.push_back(const_cast<char*>("3"));
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    args.push_back(n > 0 ? self : argv[0]);
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    std::fprintf(stderr, "bench_mpi: starting itself under %s with 3 ranks\n", args[0]);
    execv(args[0], args.data());
    std::perror("bench_mpi: cannot start mpiexec");
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    if (!launched_by_mpi()) relaunch(argc, argv);
    desync::mpi::options options;
    options.slots = slots;
    desync::mpi::cluster cluster(argc, argv, options);
    the_cluster = &cluster;
    if (!cluster.is_root()) return worker_main();
    if (cluster.size() != 3) {
        std::fprintf(stderr, "bench_mpi: needs 3 ranks (rank 0 and two workers), not %d\n",
                     cluster.size());
        start_phase({});
        return 1;
    }
    register_benchmarks();
    int code = desync_ratio_main(argc, argv);
    start_phase({});  // quit
    auto s = cluster.stats();
    std::printf(
        "\ndesync::mpi stats: %llu calls sent (rank 1: %llu, rank 2: %llu), %llu bytes "
        "sent, %llu received, queue wait %.3f s, remote wait %.3f s (summed over calls)\n",
        static_cast<unsigned long long>(s.calls_sent),
        static_cast<unsigned long long>(s.calls_per_rank[1]),
        static_cast<unsigned long long>(s.calls_per_rank[2]),
        static_cast<unsigned long long>(s.bytes_sent),
        static_cast<unsigned long long>(s.bytes_received), s.queue_wait.count() / 1e9,
        s.remote_wait.count() / 1e9);
    return code;
}
