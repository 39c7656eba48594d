// Program exit with root calls pending: the default pools shut down only after all work has
// finished. Each case runs in a child process (forked before this process uses desync), whose
// root call reports through a pipe when it has really finished.

#include <desync/desync.hpp>

#include "support/catch.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

int report_fd = -1;

void report(const char* text) {
    std::string line = std::string(text) + "\n";
    (void)!::write(report_fd, line.data(), line.size());
}

}  // namespace

DESYNC_FN(
    slow_report,
    [](int which) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        report(which == 1 ? "local finished" : "static finished");
    },
    desync::uncached);

DESYNC_FN(
    nested_report,
    [] {
        slow_report(1);  // an inner call, never read: the exit still waits for it
    },
    desync::uncached);

// Runs `child` in a forked process; returns what it reported and its exit status.
template <class Child>
std::pair<std::string, int> in_child(Child child) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        report_fd = fds[1];
        child();
        std::_Exit(99);  // not reached: the child exits by itself
    }
    ::close(fds[1]);
    std::string out;
    char buf[256];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST_CASE("exit() with root calls pending waits for them to finish", "[exit]") {
    auto [out, status] = in_child([] {
        auto pending = nested_report();  // a local: exit() never destroys it
        std::exit(0);                    // the default pools drain before the process ends
    });
    REQUIRE(status == 0);
    REQUIRE(out == "local finished\n");
}

TEST_CASE("a root lazy held in a static waits in its destructor at exit", "[exit]") {
    auto [out, status] = in_child([] {
        static auto held = slow_report(2);
        std::exit(0);
    });
    REQUIRE(status == 0);
    REQUIRE(out == "static finished\n");
}
