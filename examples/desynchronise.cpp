// The seed's first example: the two calls that outer's body makes run concurrently, so outer
// takes about 2 seconds, not 4.
#include <desync/desync.hpp>
#include <desync/trace_env.hpp>  // lets DESYNC_TRACE=run.svg trace this program (tools/pictures)

#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;

DESYNC_FN(inner, [] { std::this_thread::sleep_for(2s); });
DESYNC_FN(outer, [] {
    inner();
    inner();
});

int main() {
    auto start = std::chrono::steady_clock::now();
    outer();  // a root call as a statement: it has finished, inner calls included, after the ';'
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("outer() took %.2f s (two 2-second calls made in its body)\n", took.count());
}
