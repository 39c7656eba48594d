#pragma once
// The Redis store (docs/stores.md): one connection, on which callers and the store's I/O thread
// both send and only the I/O thread reads. A caller queues its request (the command's bytes, and
// an entry in the list of requests in flight) and returns at once; when nothing else is in flight
// it also writes the bytes to the socket itself, without waiting (MSG_DONTWAIT), so that a lone
// lookup's round trip starts at once. The I/O thread waits in poll() for replies (looking for a
// few microseconds before it sleeps), sends what the callers left (a burst of requests is one
// pipeline), reads the replies in order, and answers each request from there. Any failure of the
// server (unreachable, too slow, a refused password, command or write, gone mid-run) switches
// the store off for the rest of the run: one line on stderr, one error counted, and lookups
// answered missing (or failed, when the store is required) without touching the network.

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <desync/detail/store/backend.hpp>
#include <desync/detail/store/redis_url.hpp>
#include <desync/detail/store/redis_wire.hpp>
#include <desync/detail/store/registry.hpp>
#include <desync/detail/store/thread.hpp>
#include <desync/error.hpp>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace desync::detail::redis {

/// The store's state, shared by its handle and its I/O thread.
class core final : public store_core {
    using clock = std::chrono::steady_clock;

public:
    core(target where, const redis_options& options, store_namespace space)
        : where_(std::move(where)), options_(options), space_(std::move(space)) {
        if (options_.password.empty()) {
            if (const char* env = std::getenv("DESYNC_REDIS_PASSWORD")) options_.password = env;
        }
        prefix_ = options_.prefix + ":" + hash128{space_.id(), 0}.to_hex().substr(16) + ":";
        pattern_ = glob_escape(prefix_) + "*";
        ttl_ = std::to_string(options_.ttl.count());
        if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
            throw store_error("desync: " + describe() + ": cannot make a pipe");
    }
    ~core() override {
        if (ctx_) redisFree(ctx_);
        ::close(wake_[0]);
        ::close(wake_[1]);
    }

    // ---- the callers' side ----

    void lookup(const hash128& key, store_lookup& answer) {
        if (!submit({request::get, key, {}, &answer})) answer_off(answer);
    }

    void write(const hash128& key, std::string record, store_write* done) {
        if (!options_.read_only && record.size() <= options_.max_value &&
            submit({request::set, key, std::move(record), nullptr, done}))
            return;
        bump(counts_.skipped);
        if (done) done->written(false);
    }

    void flush() override { ask(request::mark); }
    std::size_t size() { return ask(request::count); }

    void stop() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        wake();
    }

    store_stats stats() const { return counts_.snapshot(); }
    store_counters& counters() noexcept { return counts_; }
    void set_validator(store_validator check) { validator_.set(std::move(check)); }
    const store_namespace& space() const noexcept { return space_; }
    std::string describe() const { return "the Redis store " + where_.url; }

    /// The key under which `key` is stored: "<prefix>:<namespace>:<key>".
    std::string key_of(const hash128& key) const { return prefix_ + key.to_hex(); }

    // ---- the I/O thread ----

    void run() {
        io_id_.store(std::this_thread::get_id());
        if (connect()) {
            std::lock_guard lock(m_);
            fd_ = ctx_->fd;  // callers may send from now on
        }
        for (;;) {
            bool want_out = false, late = false;
            int failed = 0, wait_ms = -1;
            {
                std::lock_guard lock(m_);
                if (stop_ && (off_.load(std::memory_order_relaxed) || inflight_.empty())) break;
                if (!off_.load(std::memory_order_relaxed)) {
                    send_some();
                    want_out = !out_.empty();
                    failed = send_errno_;
                    // A caller that sent on an idle connection did not wake this thread: look
                    // again at least every `timeout`, and measure it from the last progress.
                    wait_ms = timeout_ms();
                    if (!inflight_.empty()) {
                        auto const left = progress_at_ + options_.timeout - clock::now();
                        late = left <= clock::duration::zero();
                        wait_ms = static_cast<int>(std::clamp<long long>(
                            std::chrono::ceil<std::chrono::milliseconds>(left).count(), 0,
                            wait_ms));
                    }
                }
            }
            if (failed != 0) {
                go_off(std::string("the connection failed: ") + std::strerror(failed));
                continue;
            }
            if (late) {
                go_off("no reply within " + std::to_string(options_.timeout.count()) +
                       " ms (its timeout)");
                continue;
            }
            pollfd fds[2] = {{wake_[0], POLLIN, 0}, {fd_, POLLIN, 0}};
            if (want_out) fds[1].events |= POLLOUT;
            int const n = linger_poll(fds, fd_ >= 0 ? 2 : 1, wait_ms);
            if (n < 0 && errno != EINTR) {
                go_off(std::string("poll failed: ") + std::strerror(errno));
            } else if (n > 0) {
                if (fds[0].revents & POLLIN) drain_wake();
                if (fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) read_replies();
            }
        }
        std::lock_guard lock(m_);
        finished_ = true;
    }

private:
    // Queues `r`; false when the store is off (or gone): the caller answers it so.
    bool submit(request r) {
        std::unique_lock lock(m_);
        if (off_.load(std::memory_order_relaxed) || finished_) return false;
        bool const idle = inflight_.empty();
        if (r.kind == request::mark && idle) {  // nothing before it to wait for
            lock.unlock();
            r.reply->set_value(0);
            return true;
        }
        queue(std::move(r));
        if (idle) progress_at_ = clock::now();
        if (idle && fd_ >= 0) {  // the I/O thread waits for nothing: start the round trip here
            send_some();
            if (!out_.empty() || send_errno_ != 0) wake();
        }
        return true;
    }

    // Appends `r`'s command(s) to out_ and its entry (entries) to inflight_; m_ held.
    void queue(request r) {
        bool const renew = options_.ttl.count() > 0 && !options_.read_only;
        switch (r.kind) {
            case request::get: {
                std::string const key = key_of(r.key);
                r.getex = renew && getex_;
                if (r.getex) {
                    append_command(out_, {"GETEX", key, "PX", ttl_});
                } else {
                    append_command(out_, {"GET", key});
                }
                inflight_.push_back(std::move(r));
                if (renew && !getex_) {  // servers before Redis 6.2
                    append_command(out_, {"PEXPIRE", key, ttl_});
                    inflight_.push_back({request::expire});
                }
                return;
            }
            case request::set:
                if (options_.ttl.count() > 0) {
                    append_command(out_, {"SET", key_of(r.key), r.record, "PX", ttl_});
                } else {
                    append_command(out_, {"SET", key_of(r.key), r.record});
                }
                r.record = {};
                break;
            case request::count:
                append_command(out_, {"SCAN", r.record, "MATCH", pattern_, "COUNT", "1000"});
                break;
            default:
                break;
        }
        inflight_.push_back(std::move(r));
    }

    // Writes what out_ holds, as far as the socket takes it without waiting; m_ held.
    void send_some() {
        while (sent_ < out_.size() && send_errno_ == 0) {
            ssize_t const n =
                ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                sent_ += static_cast<std::size_t>(n);
            } else if (n < 0 && errno != EINTR) {
                if (errno != EAGAIN && errno != EWOULDBLOCK) send_errno_ = errno;
                break;
            }
        }
        if (sent_ == out_.size()) out_.clear(), sent_ = 0;
    }

    // Waits for a mark (everything before it answered) or a count, from the I/O thread.
    std::size_t ask(request::kind_t kind) {
        if (io_id_.load() == std::this_thread::get_id())
            throw error("desync: " + describe() + ": flush() or size() from its own thread");
        std::promise<std::size_t> reply;
        std::future<std::size_t> value = reply.get_future();
        request r{kind};
        r.reply = &reply;
        if (kind == request::count) r.record = "0";
        if (!submit(std::move(r))) return 0;
        return value.get();
    }

    void read_replies() {
        errno = 0;
        if (redisBufferRead(ctx_) != REDIS_OK) {
            io_errno_ = errno;
            return go_off(io_problem());
        }
        for (;;) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) return go_off(io_problem());
            if (!raw) return;
            reply_ptr reply(static_cast<redisReply*>(raw));
            request r;
            {
                std::lock_guard lock(m_);
                if (inflight_.empty()) break;
                r = std::move(inflight_.front());
                inflight_.pop_front();
                progress_at_ = clock::now();
            }
            answer(r, *reply);
            answer_marks();
            if (off_.load(std::memory_order_relaxed)) return;
        }
        go_off("the server sent a reply to no request");
    }

    // Answers the marks now at the front: everything before them is answered.
    void answer_marks() {
        std::vector<request> marks;
        {
            std::lock_guard lock(m_);
            while (!inflight_.empty() && inflight_.front().kind == request::mark) {
                marks.push_back(std::move(inflight_.front()));
                inflight_.pop_front();
            }
        }
        for (request& m : marks) m.reply->set_value(0);
    }

    void answer(request& r, const redisReply& reply) {
        switch (r.kind) {
            case request::get:
                return answer_get(r, reply);
            case request::expire:
                if (reply.type == REDIS_REPLY_ERROR)
                    go_off("the server refused PEXPIRE: " + text_of(reply));
                return;
            case request::set:
                if (reply.type == REDIS_REPLY_STATUS) {
                    bump(counts_.writes);
                    if (r.done) r.done->written(true);
                    return;
                }
                go_off("the server refused a write: " + text_of(reply));
                return answer_off(r);
            case request::count:
                return answer_count(r, reply);
            default:
                return;
        }
    }

    void answer_get(request& r, const redisReply& reply) {
        if (reply.type == REDIS_REPLY_NIL) {
            bump(counts_.misses);
            return r.lookup->missing();
        }
        if (reply.type == REDIS_REPLY_ERROR) {
            std::string const message = text_of(reply);
            if (r.getex && message.starts_with("ERR unknown command")) {
                std::lock_guard lock(m_);  // before Redis 6.2: again, as GET then PEXPIRE
                getex_ = false;
                return queue(std::move(r));
            }
            if (!message.starts_with("WRONGTYPE")) {
                go_off("the server refused a lookup: " + message);
                return answer_off(r);
            }
        }
        std::string_view const record =
            reply.type == REDIS_REPLY_STRING ? std::string_view(reply.str, reply.len) : "";
        if (reply.type != REDIS_REPLY_STRING || !validator_.accepts(r.key, record)) {
            bump(counts_.dropped), bump(counts_.misses);  // a later write replaces it
            return r.lookup->missing();
        }
        bump(counts_.hits);
        r.lookup->found(std::string(record));
    }

    // SCAN's reply: the next cursor and some keys (one may come twice while the server resizes).
    void answer_count(request& r, const redisReply& reply) {
        if (reply.type == REDIS_REPLY_ARRAY && reply.elements == 2 &&
            reply.element[0]->type == REDIS_REPLY_STRING) {
            r.total += reply.element[1]->elements;
            std::string cursor(reply.element[0]->str, reply.element[0]->len);
            if (cursor != "0") {
                r.record = std::move(cursor);
                std::lock_guard lock(m_);
                return queue(std::move(r));
            }
        }
        r.reply->set_value(r.total);
    }

    // Connects, authenticates and selects the database; false when the store went off.
    bool connect() {
        timeval const tv = to_timeval(options_.connect_timeout);
        ctx_ = where_.unix_socket ? redisConnectUnixWithTimeout(where_.path.c_str(), tv)
                                  : redisConnectWithTimeout(where_.host.c_str(), where_.port, tv);
        if (!ctx_) return go_off("cannot connect: out of memory"), false;
        if (ctx_->err) return go_off("cannot connect: " + std::string(ctx_->errstr)), false;
        redisSetTimeout(ctx_, to_timeval(options_.timeout));
        if (!options_.password.empty()) {
            reply_ptr r = options_.username.empty()
                              ? command({"AUTH", options_.password})
                              : command({"AUTH", options_.username, options_.password});
            if (!r) return go_off(io_problem()), false;
            if (r->type == REDIS_REPLY_ERROR)
                return go_off("the server refused the password: " + text_of(*r)), false;
        }
        if (where_.db != 0) {
            reply_ptr r = command({"SELECT", std::to_string(where_.db)});
            if (!r) return go_off(io_problem()), false;
            if (r->type == REDIS_REPLY_ERROR)
                return go_off("the server refused database " + std::to_string(where_.db) + ": " +
                              text_of(*r)),
                       false;
        }
        return true;
    }

    // One command while connecting, before anyone else may send.
    reply_ptr command(std::initializer_list<std::string_view> args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (std::string_view a : args) argv.push_back(a.data()), lengths.push_back(a.size());
        errno = 0;
        void* raw =
            redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data());
        io_errno_ = errno;
        return reply_ptr(static_cast<redisReply*>(raw));
    }

    std::string io_problem() const {
        if (!ctx_) return "not connected";
        if (ctx_->err == REDIS_ERR_IO && (io_errno_ == EAGAIN || io_errno_ == EWOULDBLOCK))
            return "no reply within " + std::to_string(options_.timeout.count()) +
                   " ms (its timeout)";
        if (ctx_->err == REDIS_ERR_EOF) return "the server closed the connection";
        return std::string("the connection failed: ") + ctx_->errstr;
    }

    // A reply to a request just sent, or the next request, usually comes within microseconds:
    // look for one a while (giving way to other threads) before sleeping in poll(), which would
    // cost a wake-up on its way.
    static int linger_poll(pollfd* fds, nfds_t n, int wait_ms) {
        auto const until = clock::now() + std::chrono::microseconds(50);
        do {
            if (int const ready = ::poll(fds, n, 0); ready != 0) return ready;
            std::this_thread::yield();
        } while (clock::now() < until);
        return ::poll(fds, n, wait_ms);
    }

    int timeout_ms() const {
        return static_cast<int>(std::min<long long>(options_.timeout.count(), INT_MAX));
    }

    void wake() noexcept {
        char const c = 1;
        (void)!::write(wake_[1], &c, 1);  // a full pipe wakes it already
    }
    void drain_wake() noexcept {
        char buffer[64];
        while (::read(wake_[0], buffer, sizeof buffer) > 0) {
        }
    }

    // Once, on the I/O thread (the only one that sets off_): off for the rest of the run, one
    // line on stderr, one error; every request in flight is answered as off. The line and the
    // count come before off_ is published: a caller that finds the store off finds them too.
    void go_off(const std::string& reason) {
        if (off_.load(std::memory_order_relaxed)) return;
        bump(counts_.errors);
        std::string const line =
            "desync: " + describe() + " is off for the rest of the run: " + reason +
            (options_.required ? " (required: lookups fail)\n" : " (calls run here instead)\n");
        std::fputs(line.c_str(), stderr);
        std::deque<request> left;
        {
            std::lock_guard lock(m_);
            reason_ = reason;
            off_.store(true, std::memory_order_release);
            left.swap(inflight_);
            out_.clear(), sent_ = 0;
            fd_ = -1;
        }
        if (ctx_) redisFree(ctx_), ctx_ = nullptr;
        for (request& r : left) answer_off(r);
    }

    void answer_off(store_lookup& answer) {
        if (options_.required && off_.load(std::memory_order_acquire)) {
            return answer.failed(std::make_exception_ptr(
                store_error("desync: " + describe() + " is off: " + reason_)));
        }
        bump(counts_.misses);
        answer.missing();
    }

    void answer_off(request& r) {
        switch (r.kind) {
            case request::get:
                return answer_off(*r.lookup);
            case request::set:
                bump(counts_.skipped);
                if (r.done) r.done->written(false);
                return;
            case request::count:
            case request::mark:
                return r.reply->set_value(r.total);
            default:
                return;
        }
    }

    target where_;
    redis_options options_;
    store_namespace space_;
    std::string prefix_, pattern_, ttl_;
    store_counters counts_;
    validator_slot validator_;

    std::atomic<bool> off_{false};
    std::string reason_;           // written once, before off_ is set
    redisContext* ctx_ = nullptr;  // the I/O thread's: connecting, then reading replies
    int io_errno_ = 0;
    std::atomic<std::thread::id> io_id_{};
    int wake_[2] = {-1, -1};  // a pipe: a byte wakes the I/O thread from poll()

    std::mutex m_;     // guards what follows
    std::string out_;  // commands not yet sent, from sent_ on
    std::size_t sent_ = 0;
    int send_errno_ = 0;
    std::deque<request> inflight_;   // in the order of their commands (and replies)
    clock::time_point progress_at_;  // of the last reply, or of a request to an idle connection
    int fd_ = -1;                    // the connection's socket, once callers may send on it
    bool getex_ = true;              // false once the server said it lacks GETEX
    bool stop_ = false, finished_ = false;
};

/// The handle's side: forwards to the core; closing stops the I/O thread once all is answered.
class backend final : public store_backend {
public:
    backend(target where, const redis_options& options, store_namespace space)
        : core_(std::make_shared<core>(std::move(where), options, std::move(space))) {
        thread_.start(core_);
        store_registry::get().add(core_);
    }
    ~backend() override {
        core_->stop();
        thread_.finish();
    }

    void lookup(const hash128& key, store_lookup& answer) override { core_->lookup(key, answer); }
    void write(const hash128& key, std::string record, store_write* done) override {
        core_->write(key, std::move(record), done);
    }
    void dropped(const hash128& key) noexcept override {
        (void)key;  // the next write of the key replaces the value
        core_->counters().hit_dropped();
    }
    void flush() override { core_->flush(); }
    store_stats stats() const override { return core_->stats(); }
    std::size_t size() override { return core_->size(); }
    void set_validator(store_validator check) override { core_->set_validator(std::move(check)); }
    const store_namespace& space() const noexcept override { return core_->space(); }
    std::string describe() const override { return core_->describe(); }

private:
    std::shared_ptr<core> core_;
    store_thread thread_;
};

}  // namespace desync::detail::redis
