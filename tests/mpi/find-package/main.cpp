// Started alone, a cluster is one rank and its distributed calls run locally.
#include <cstdio>
#include <desync/mpi.hpp>

int main(int argc, char** argv) {
    desync::mpi::cluster cluster(argc, argv);
    std::printf("desync::mpi: rank %d of %d\n", cluster.rank(), cluster.size());
    return cluster.size() == 1 && !desync::detail::mpi::active() ? 0 : 1;
}
