// expect: desync::distributed: the result must be void or a value the cache codec encodes
// A distributed function's result travels back to rank 0: one the cache codec cannot encode (a
// view into the worker's memory) is refused where the function is defined.
#include <desync/desync.hpp>

#include <string_view>

DESYNC_FN(
    name_of, [](int) { return std::string_view("name"); }, desync::distributed);

int main() { return static_cast<int>(name_of(1).get().size()); }
