// A parameter sweep whose calls run on the ranks of an MPI job, or here when run alone:
//   mpirun -np 3 ./cluster_sweep      rank 0 hands simulate's calls to ranks 1 and 2
//   ./cluster_sweep                   one rank: every call runs here, with the same results
// Results are saved in cluster_sweep.cache: a rerun (after a lost job, or with a larger sweep)
// loads them and runs only the calls the file does not hold.
#include <desync/desync.hpp>
#include <desync/mpi.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
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

    const std::filesystem::path file = "cluster_sweep.cache";
    if (std::filesystem::exists(file)) sweep.set_cache(desync::cache::load(file));
    double best = sweep(200).get();  // simulate's calls run on ranks 1..N-1
    sweep.get_cache().save(file);    // what this run and the earlier ones found

    std::printf("best: %.6f (ranks: %d, calls sent to workers: %llu)\n", best, cluster.size(),
                static_cast<unsigned long long>(cluster.stats().calls_sent));
}
