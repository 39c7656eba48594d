// The memo table across builds: one program built with different bodies (the -D switches, as in
// program.cpp), run in order on one cache file. `memo_program <root> <cache file>` installs the
// file's cache (if there is one), calls the root, prints the callees that ran ("inc,step", or
// "none" when every call was a hit), and saves what the run recorded for the next build.
#include <desync/desync.hpp>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "ran.hpp"
#include "remote.hpp"

using variants::ran;

// --- the seed: step calls inc
#if INC == 1
DESYNC_FN(inc, [](int value) {
    ran("inc");
    return value + 1;
});
#else
DESYNC_FN(inc, [](int value) {
    ran("inc");
    return value + 2;
});
#endif

#if STEP == 1
DESYNC_FN(step, [](int value) {
    ran("step");
    return inc(value);
});
#else
DESYNC_FN(step, [](int value) {
    ran("step");
    return inc(value) * 2;
});
#endif
DESYNC_FN(step_root, [](int value) { return step(value); });

// --- a change two levels down
#if LEAF == 1
DESYNC_FN(leaf, [](int v) {
    ran("leaf");
    return v - 1;
});
#else
DESYNC_FN(leaf, [](int v) {
    ran("leaf");
    return v - 2;
});
#endif
DESYNC_FN(mid, [](int v) {
    ran("mid");
    return leaf(v);
});
DESYNC_FN(top_root, [](int v) { return mid(v).get() + step(v).get(); });

// --- a value the body reads from outside, named with desync::uses
const int threshold = THRESHOLD;
DESYNC_FN(
    over,
    [](int v) {
        ran("over");
        return v > threshold;
    },
    desync::uses(threshold));
DESYNC_FN(over_root, [](int v) { return over(v); });

// --- a function defined in another translation unit
DESYNC_FN(local_user, [](int v) {
    ran("local_user");
    return remote(v);
});
DESYNC_FN(remote_root, [](int v) { return local_user(v); });

// --- a result type whose field changes type while measure's text stays the same: the bytes
// of an int would decode as a float, so the key must tell the shapes apart
#if SHAPE == 1
struct reading {
    int value;
};
#else
struct reading {
    float value;
};
#endif
DESYNC_FN(measure, [](int v) {
    ran("measure");
    return reading{static_cast<decltype(reading::value)>(v)};
});
DESYNC_FN(measure_root, [](int v) { return static_cast<double>(measure(v).get().value); });

template <class Root>
std::function<bool(const std::filesystem::path&)> runner(const Root& root, double expected) {
    return [&root, expected](const std::filesystem::path& file) {
        if (std::filesystem::exists(file)) root.set_cache(desync::cache::load(file));
        bool const right = static_cast<double>(root(1).get()) == expected;
        root.get_cache().save(file);
        return right;
    };
}

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: memo_program <root> <cache file>\n";
        return 2;
    }
    // What each root returns for 1 in this build: a hit must give what running would.
    const double stepped = STEP == 1 ? 1 + INC : 2 * (1 + INC);
    const std::map<std::string, std::function<bool(const std::filesystem::path&)>> roots{
        {"step_root", runner(step_root, stepped)},
        {"top_root", runner(top_root, 1 - LEAF + stepped)},
        {"over_root", runner(over_root, 1 > THRESHOLD)},
        {"remote_root", runner(remote_root, REMOTE == 1 ? 3 : 4)},
        {"measure_root", runner(measure_root, 1)},
    };
    auto root = roots.find(argv[1]);
    if (root == roots.end()) {
        std::cerr << "unknown root " << argv[1] << "\n";
        return 2;
    }
    bool const right = root->second(argv[2]);
    std::cout << variants::ran_list() << "\n";
    return right ? 0 : 1;
}
