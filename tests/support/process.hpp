#pragma once
// Child processes for tests: this test program started again, running one hidden test case
// with variables of the form DESYNC_TEST_*=... (a writer to kill, a process that saves at the
// same time as another), and its end; or another program, its stdin and stdout piped to the
// test (lines both ways), killed and reaped when its object dies.

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
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

/// Another program, started with fork and exec, its stdin and stdout piped to the test.
class child {
public:
    child(const std::string& program, const std::vector<std::string>& args) {
        std::vector<std::string> all{program};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (std::string& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
        pid_t const parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {  // only async-signal-safe calls until exec
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(126);
            ::dup2(in[0], 0), ::dup2(out[1], 1);
            ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(in[0]), ::close(out[1]);
        to_ = in[1], from_ = out[0];
    }
    child(const child&) = delete;
    child& operator=(const child&) = delete;
    ~child() {
        if (pid_ > 0) kill(SIGKILL), wait();
        if (to_ >= 0) ::close(to_);
        if (from_ >= 0) ::close(from_);
    }

    /// The next line it wrote, without its '\n'; empty at the end of its output.
    std::string read_line() {
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            char chunk[4096];
            ssize_t const n = ::read(from_, chunk, sizeof chunk);
            if (n <= 0) return std::exchange(buffer_, {});
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    void write_line(std::string_view line) {
        std::string const text = std::string(line) + "\n";
        if (::write(to_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw std::runtime_error("cannot write to the child");
    }
    void kill(int sig) {
        if (pid_ > 0) ::kill(pid_, sig);
    }
    /// Reaps it: its exit status, or minus the signal that ended it.
    int wait() {
        if (pid_ <= 0) return status_;
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        return status_;
    }

private:
    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
    int status_ = 0;
    std::string buffer_;
};

}  // namespace desync::test
