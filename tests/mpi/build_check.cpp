// Every rank checks at cluster construction that all run the same build. Built three times:
// plain, with one more distributed function (DESYNC_TEST_EXTRA_FUNCTION: other functions), and
// with -funsigned-char (another fingerprint). Started together in one MPI job:
//   mpiexec -n 1 build_check_a accepted : -n 2 build_check_a accepted       (same build)
//   mpiexec -n 1 build_check_a refused "other functions" : -n 1 build_check_a refused : ...
// Rank 0 must throw desync::error naming the odd ranks and why; the others must be told, by
// serve() returning EXIT_FAILURE. Each rank exits 0 when things went as its arguments say.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <desync/mpi.hpp>
#include <string>

namespace dm = desync::detail::mpi;

namespace {

void ignore(std::string, dm::reply& r) { r.done({}); }

[[maybe_unused]] const bool registered = [] {
    dm::register_handler(0xb01d'0001, &ignore);
#ifdef DESYNC_TEST_EXTRA_FUNCTION
    dm::register_handler(0xb01d'0002, &ignore);
#endif
    return true;
}();

}  // namespace

// Arguments: accepted | refused <text the error must contain> [<text it must not contain>]
int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const bool refused = std::strcmp(argv[1], "refused") == 0;
    try {
        desync::mpi::cluster cluster(argc, argv);
        if (!cluster.is_root()) {
            int code = cluster.serve();
            return (code == EXIT_FAILURE) == refused ? 0 : 1;
        }
        if (refused) std::fprintf(stderr, "build_check: rank 0 accepted a different build\n");
        return refused ? 1 : 0;
    } catch (const desync::error& e) {
        std::fprintf(stderr, "build_check: rank 0 refused: %s\n", e.what());
        std::string what = e.what();
        bool ok = refused && argc >= 3 && what.find(argv[2]) != std::string::npos &&
                  (argc < 4 || what.find(argv[3]) == std::string::npos);
        return ok ? 0 : 1;
    }
}
