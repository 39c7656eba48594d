#pragma once
// Child processes for tests: this test program started again, running one hidden test case
// with variables of the form DESYNC_TEST_*=... (a writer to kill, a process that saves at the
// same time as another), and its end.

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace desync::test {

/// Starts this program again to run the test case `test_case` alone, with `env` (NAME=value
/// pairs, the names starting with DESYNC_TEST_) in place of the parent's DESYNC_TEST_ variables.
/// Returns the child's pid, or -1 if it could not be started.
inline pid_t spawn_self(const std::string& test_case, const std::vector<std::string>& env) {
    std::string const exe = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string name = test_case;
    std::vector<std::string> env_text = env;
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "DESYNC_TEST_", 12) != 0) envp.push_back(*e);
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    char* argv[] = {const_cast<char*>(exe.c_str()), name.data(), nullptr};
    pid_t pid = 0;
    if (::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()) != 0) return -1;
    return pid;
}

/// Waits for the child and returns its wait status (-1 if it cannot).
inline int wait_child(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, 0) == pid ? status : -1;
}

/// Whether a wait status says the child returned 0.
inline bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

}  // namespace desync::test
