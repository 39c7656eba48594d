// expect: desync: an enum in a memo key shows no enumerator within desync::enum_range
// An enum whose enumerators all lie outside the range desync scans: its shape could not tell a
// reordered or renamed enumerator, so its use in a memo key is refused with the way out.
#include <desync/desync.hpp>

enum class code { first = 10000, second = 10001 };

DESYNC_FN(by_code, [](code c) { return static_cast<int>(c); });
DESYNC_FN(code_root, [](int) { return by_code(code::first).get(); });

int main() { return code_root(0).get(); }
