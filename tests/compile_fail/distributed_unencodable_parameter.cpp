// expect: desync::distributed: every parameter must be a value the cache codec encodes
// A distributed function's calls travel to other processes: a parameter the cache codec cannot
// encode (a view: hashable, but its bytes live elsewhere) is refused where the function is
// defined.
#include <desync/desync.hpp>

#include <string_view>

DESYNC_FN(
    length, [](std::string_view text) { return text.size(); }, desync::distributed);

int main() { return static_cast<int>(length("abc").get()); }
