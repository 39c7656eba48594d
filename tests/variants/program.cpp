// One program, many builds: the -D switches below select function bodies (outside the macro
// calls, so each build's text is what it would be in a real edit). Each build reports the
// version of one function relative to the version file an earlier build left, then saves its
// own: `program <function> <version file>` prints "major.minor".
#include <desync/desync.hpp>

#include "remote.hpp"

#include <fstream>
#include <iostream>
#include <map>
#include <string>

// --- the seed: step calls inc
#if INC == 1
DESYNC_FN(inc, [](int value) { return value + 1; });
#else
DESYNC_FN(inc, [](int value) { return value + 2; });
#endif

#if STEP == 1
DESYNC_FN(step, [](int value) { return inc(value); });
#elif STEP == 2
DESYNC_FN(step, [](int value) { return inc(value) * 2; });
#else
DESYNC_FN(step, [](int value) {
    // the same body as STEP == 2, with other comments and spacing
    return inc(value) * 2;
});
#endif

// --- a change two levels down
#if LEAF == 1
DESYNC_FN(leaf, [](int v) { return v - 1; });
#else
DESYNC_FN(leaf, [](int v) { return v - 2; });
#endif
DESYNC_FN(mid, [](int v) { return leaf(v); });
DESYNC_FN(top, [](int v) { return mid(v); });

// --- callees named only inside an argument, and only inside a branch
#if ALTERNATE == 1
DESYNC_FN(alt, [](int v) { return v * 10; });
#else
DESYNC_FN(alt, [](int v) { return v * 11; });
#endif
DESYNC_FN(arg_user, [](int v) { return inc(alt(v)); });
DESYNC_FN(branch_user, [](int v) -> int {
    if (v < 0) return alt(-v);
    return v;
});

// --- recursion: fib calls itself and a helper
#if FIB_HELPER == 1
DESYNC_FN(fib_base, [](int n) { return static_cast<long>(n); });
#else
DESYNC_FN(fib_base, [](int n) { return static_cast<long>(n) + 0; });
#endif
DESYNC_DECLARE(fib, long(int));
#if FIB == 1
DESYNC_DEFINE(fib, [](int n) -> long {
    return n < 2 ? fib_base(n).get() : fib(n - 1).get() + fib(n - 2).get();
});
#else
DESYNC_DEFINE(fib, [](int n) -> long {
    return n < 2 ? fib_base(n).get() : fib(n - 2).get() + fib(n - 1).get();
});
#endif
DESYNC_FN(fib_user, [](int n) { return fib(n); });

// --- mutual recursion
DESYNC_DECLARE(is_odd, bool(int));
DESYNC_DECLARE(is_even, bool(int));
DESYNC_DEFINE(is_even, [](int n) -> bool { return n == 0 ? true : is_odd(n - 1).get(); });
#if ODD == 1
DESYNC_DEFINE(is_odd, [](int n) -> bool { return n == 0 ? false : is_even(n - 1).get(); });
#else
DESYNC_DEFINE(is_odd, [](int n) -> bool { return n != 0 && is_even(n - 1).get(); });
#endif

// --- a value the body reads from outside, named with desync::uses
const int threshold = THRESHOLD;
DESYNC_FN(
    over, [](int v) { return v > threshold; }, desync::uses(threshold));

// --- a function defined in another translation unit
DESYNC_FN(local_user, [](int v) { return remote(v); });

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: program <function> <version file>\n";
        return 2;
    }
    const std::map<std::string, desync::version (*)()> functions{
        {"step", [] { return step.get_version(); }},
        {"top", [] { return top.get_version(); }},
        {"arg_user", [] { return arg_user.get_version(); }},
        {"branch_user", [] { return branch_user.get_version(); }},
        {"fib", [] { return fib.get_version(); }},
        {"fib_user", [] { return fib_user.get_version(); }},
        {"is_even", [] { return is_even.get_version(); }},
        {"over", [] { return over.get_version(); }},
        {"local_user", [] { return local_user.get_version(); }},
    };
    const std::map<std::string, void (*)(const desync::version&)> setters{
        {"step", [](const desync::version& v) { step.set_version(v); }},
        {"top", [](const desync::version& v) { top.set_version(v); }},
        {"arg_user", [](const desync::version& v) { arg_user.set_version(v); }},
        {"branch_user", [](const desync::version& v) { branch_user.set_version(v); }},
        {"fib", [](const desync::version& v) { fib.set_version(v); }},
        {"fib_user", [](const desync::version& v) { fib_user.set_version(v); }},
        {"is_even", [](const desync::version& v) { is_even.set_version(v); }},
        {"over", [](const desync::version& v) { over.set_version(v); }},
        {"local_user", [](const desync::version& v) { local_user.set_version(v); }},
    };
    auto f = functions.find(argv[1]);
    if (f == functions.end()) {
        std::cerr << "unknown function " << argv[1] << "\n";
        return 2;
    }
    if (std::ifstream in(argv[2]); in) {
        desync::version old;
        if (!(in >> old)) {
            std::cerr << "malformed version file\n";
            return 3;
        }
        setters.at(argv[1])(old);
    }
    desync::version now = f->second();
    std::ofstream(argv[2]) << now;
    std::cout << desync::to_string(now) << "\n";
    // The functions still run: versions are about code, the calls must work too.
    return step(1).get() > 0 && fib(10).get() == 55 && is_even(10).get() ? 0 : 1;
}
