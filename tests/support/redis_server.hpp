#pragma once
// A redis-server of the test's (or benchmark's) own: listening on a Unix socket in a fresh
// directory, no TCP port, nothing saved; killed when the object dies, and with the process that
// started it (PR_SET_PDEATHSIG). No redis-server binary is an error, never a reason to skip.

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace desync::test {

/// The path of `name` on PATH, or empty.
inline std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        std::string const candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

struct free_redis_reply {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using redis_reply = std::unique_ptr<redisReply, free_redis_reply>;

/// A plain connection, for what a test checks or changes behind a store's back.
class redis_connection {
public:
    explicit redis_connection(const std::string& socket, const std::string& password = {})
        : c_(redisConnectUnix(socket.c_str())) {
        if (!c_ || c_->err) throw std::runtime_error("cannot connect to " + socket);
        if (!password.empty()) (*this)({"AUTH", password});
    }
    redis_connection(const redis_connection&) = delete;
    redis_connection& operator=(const redis_connection&) = delete;
    ~redis_connection() { redisFree(c_); }

    /// Sends one command and waits for its reply (an error reply is returned, not thrown).
    redis_reply operator()(std::initializer_list<std::string_view> args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (std::string_view a : args) argv.push_back(a.data()), lengths.push_back(a.size());
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
        if (!r) throw std::runtime_error(std::string("redis connection failed: ") + c_->errstr);
        return redis_reply(r);
    }
    /// The reply's text (a status, a string or an error).
    std::string text(std::initializer_list<std::string_view> args) {
        redis_reply r = (*this)(args);
        return r->str ? std::string(r->str, r->len) : std::string();
    }
    long long integer(std::initializer_list<std::string_view> args) {
        return (*this)(args)->integer;
    }

    /// The raw context, for benchmarks.
    redisContext* get() const noexcept { return c_; }

private:
    redisContext* c_;
};

class redis_server {
public:
    /// Starts redis-server with these arguments added (e.g. "--requirepass", "secret").
    explicit redis_server(std::vector<std::string> extra = {}) {
        std::string const binary = find_program("redis-server");
        if (binary.empty())
            throw std::runtime_error(
                "no redis-server on PATH: the Redis store tests need it (Debian: redis-server)");
        char dir[] = "/tmp/desync-redis-XXXXXX";
        if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
        dir_ = dir;
        socket_ = dir_ + "/redis.sock";
        std::vector<std::string> args{binary,  "--port", "0", "--unixsocket",
                                      socket_, "--save", "",  "--appendonly",
                                      "no",    "--dir",  dir_};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::string const log = dir_ + "/redis.log";
        pid_t const parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {  // only async-signal-safe calls until exec
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(126);
            int const fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int const null = ::open("/dev/null", O_RDONLY);
            ::dup2(null, 0), ::dup2(fd, 1), ::dup2(fd, 2);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        if (!wait_ready()) {
            std::string const why = "redis-server did not start: " + this->log();
            stop();
            std::filesystem::remove_all(dir_);
            throw std::runtime_error(why);
        }
    }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;
    ~redis_server() {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    const std::string& socket() const { return socket_; }
    std::string url() const { return "unix://" + socket_; }
    const std::string& dir() const { return dir_; }
    /// A plain connection to it.
    redis_connection connect(const std::string& password = {}) const {
        return redis_connection(socket_, password);
    }

    /// Kills it (SIGKILL) and waits until it is gone.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    /// Stops it answering (SIGSTOP) until resume().
    void pause() { ::kill(pid_, SIGSTOP); }
    void resume() { ::kill(pid_, SIGCONT); }

    std::string log() const {
        std::ifstream in(dir_ + "/redis.log");
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    // Until it answers PING on its socket, or has exited, or a minute has passed.
    bool wait_ready() {
        auto const give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < give_up) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            if (::access(socket_.c_str(), F_OK) == 0) {
                redisContext* c = redisConnectUnix(socket_.c_str());
                bool ok = false;
                if (c && !c->err) {
                    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
                    ok = r && (r->type == REDIS_REPLY_STATUS ||
                               (r->type == REDIS_REPLY_ERROR &&
                                std::string_view(r->str, r->len).starts_with("NOAUTH")));
                    if (r) freeReplyObject(r);
                }
                if (c) redisFree(c);
                if (ok) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }

    std::string dir_, socket_;
    pid_t pid_ = -1;
};

}  // namespace desync::test
