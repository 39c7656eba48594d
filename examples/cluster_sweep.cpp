// A parameter sweep whose calls run on the ranks of an MPI job, or here when run alone:
//   mpirun -np 3 ./cluster_sweep      rank 0 hands simulate's calls to ranks 1 and 2
//   ./cluster_sweep                   one rank: every call runs here, with the same results
// Rank 0 keeps each result in the SQLite store cluster_sweep.db as it comes back: a rerun (after a
// job that was killed half-way, or with a larger sweep) finds what the store holds and sends only
// the calls it does not. Needs the CMake targets desync::mpi and desync::sqlite.
#include <desync/desync.hpp>
#include <desync/mpi.hpp>
#include <desync/store/sqlite.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

struct params {
    double rate;
    int steps;
};

DESYNC_FN(
    simulate,
    [](params p) {
        double x = 1;
        for (int i = 0; i < p.steps; ++i) x += p.rate * x * (1 - x / 1000);
        return x;
    },
    desync::distributed);

DESYNC_FN(sweep, [](int n) {
    std::vector<desync::lazy<double>> runs;
    for (int i = 0; i < n; ++i) runs.push_back(simulate(params{0.0001 * i, 20'000}));
    double best = 0;
    for (auto& r : runs) best = std::max(best, r.get());
    return best;
});

int main(int argc, char** argv) {
    desync::mpi::cluster cluster(argc, argv);        // MPI_Init_thread; MPI_Finalize at its end
    if (!cluster.is_root()) return cluster.serve();  // ranks 1..N-1 run calls until rank 0 is done

    desync::sqlite_store store("cluster_sweep.db");  // only rank 0 opens it
    sweep.set_store(store);
    double best = sweep(200).get();  // simulate's misses run on ranks 1..N-1, hits on none
    sweep.set_store({});

    desync::store_stats const s = store.stats();
    std::printf("best: %.6f (ranks: %d; calls sent to workers: %llu; store: %llu hits, %llu new)\n",
                best, cluster.size(), static_cast<unsigned long long>(cluster.stats().calls_sent),
                static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.writes));
}
