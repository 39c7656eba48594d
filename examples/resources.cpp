// The original's resource test: five calls needing 1, 4, 1, 1 and 1 CPUs from a budget of 4.
// Calls wait in a queue (no thread blocks); the 4-CPU call never overlaps another.
#include <desync/desync.hpp>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;

desync::resources cpus{{"cpus", 4}};
std::mutex out;
const auto start = std::chrono::steady_clock::now();

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

DESYNC_FN(
    job,
    [](int id, int need) {
        {
            std::lock_guard lock(out);
            std::printf("%.2f s  job %d starts (needs %d cpus)\n", now(), id, need);
        }
        std::this_thread::sleep_for(200ms);
        {
            std::lock_guard lock(out);
            std::printf("%.2f s  job %d ends\n", now(), id);
        }
    },
    desync::uncached, desync::blocking);

DESYNC_FN(
    run_all,
    [] {
        int id = 0;
        for (int need : {1, 4, 1, 1, 1})
            job(desync::needs{.cpus = need, .from = &cpus}, id++, need);
    },
    desync::uncached);

int main() {
    run_all();
    std::printf("most cpus in use at once: %ld of %ld\n", cpus.peak("cpus"), cpus.capacity("cpus"));
}
