// The seed's versioning example. Each run reports step's version relative to the one saved in
// version.txt by the previous run, then saves its own: the first build reports 1.0; rebuilt
// after inc's body changed it reports 1.1; after step's own body changed, 2.0.
#include <desync/desync.hpp>

#include <cstdio>
#include <fstream>

DESYNC_FN(inc, [](int value) { return value + 1; });
DESYNC_FN(step, [](int value) { return inc(value); });

int main() {
    if (std::ifstream in("version.txt"); in) {
        desync::version old;
        if (in >> old)
            step.set_version(old);
        else
            std::printf("version.txt is malformed; starting again at 1.0\n");
    }
    desync::version v = step.get_version();
    std::ofstream("version.txt") << v;  // major hash, minor hashes, major, minor
    std::printf("step is version %s (major hash %016llx, %zu minor hash)\n",
                desync::to_string(v).c_str(), static_cast<unsigned long long>(v.major_hash),
                v.minor_hash.size());
    std::printf("step(1) = %d\n", step(1).get());
}
