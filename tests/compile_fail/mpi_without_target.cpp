// expect: <desync/mpi\.hpp> needs the CMake target desync::mpi
// Including the MPI part without linking its target is an error that names the target.
#include <desync/mpi.hpp>

int main() {}
