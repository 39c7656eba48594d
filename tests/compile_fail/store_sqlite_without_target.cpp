// expect: desync/store/sqlite.hpp needs the CMake target desync::sqlite
// Including the SQLite store without linking its CMake target is an error that names the target.
#include <desync/store/sqlite.hpp>

int main() {}
