// expect: desync: a memoized function's parameters must be hashable
// A memoizable function whose parameter has no hash: its calls could not be keyed, so its
// definition is refused (unless it is marked desync::uncached).
#include <desync/desync.hpp>

class opaque {
public:
    int get() const { return secret_; }

private:
    int secret_ = 0;
};

DESYNC_FN(takes_opaque, [](opaque o) { return o.get(); });

int main() { return takes_opaque(opaque{}).get(); }
