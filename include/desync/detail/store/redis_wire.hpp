#pragma once
// The Redis store's options, and what travels on its connection: the requests in flight, the
// commands as RESP bytes (written by whichever thread sends them), and hiredis's replies.

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <chrono>
#include <cstddef>
#include <desync/detail/store/backend.hpp>
#include <future>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace desync {

/// Options of desync::redis_store.
struct redis_options {
    /// Keeps these results apart from those of other salts on the same server.
    std::string salt{};
    /// Starts every key, before the namespace and the key: "desync:<namespace>:<key>".
    std::string prefix = "desync";
    /// Expiry of each result, renewed on each hit; zero: none (the server's maxmemory evicts).
    std::chrono::milliseconds ttl{};
    /// Lookups only: no result is written and no expiry renewed.
    bool read_only = false;
    /// When the store goes off, lookups fail with desync::store_error instead of missing.
    bool required = false;
    /// How long connecting may take.
    std::chrono::milliseconds connect_timeout{100};
    /// How long any reply may take; a slower server switches the store off.
    std::chrono::milliseconds timeout{5000};
    /// Records larger than this are not written (counted in `skipped`).
    std::size_t max_value = std::size_t{64} << 20;
    /// The ACL user (Redis 6 or later); empty: the default user.
    std::string username{};
    /// The password; empty: the environment variable DESYNC_REDIS_PASSWORD, if set.
    std::string password{};
};

}  // namespace desync

namespace desync::detail::redis {

struct free_reply {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, free_reply>;

/// A request, from when its command is queued until its reply is read. `lookup`, `done` or
/// `reply` is told once. A mark takes no reply: it is answered when everything before it was.
struct request {
    enum kind_t : unsigned char { get, expire, set, count, mark };
    kind_t kind = mark;
    hash128 key{};
    std::string record{};  // set: the record; count: the SCAN cursor to send
    store_lookup* lookup = nullptr;
    store_write* done = nullptr;
    std::promise<std::size_t>* reply = nullptr;
    std::size_t total = 0;  // count: the keys counted so far
    bool getex = false;     // get: sent as GETEX
};

/// Appends a command, as RESP (an array of bulk strings), to `out`.
inline void append_command(std::string& out, std::initializer_list<std::string_view> args) {
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (std::string_view a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out.append(a);
        out += "\r\n";
    }
}

inline timeval to_timeval(std::chrono::milliseconds ms) {
    auto const us = std::chrono::duration_cast<std::chrono::microseconds>(ms).count();
    return {static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

/// `text` with the glob characters of SCAN's MATCH escaped.
inline std::string glob_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

inline std::string text_of(const redisReply& r) {
    return r.str ? std::string(r.str, r.len) : "(no message)";
}

}  // namespace desync::detail::redis
