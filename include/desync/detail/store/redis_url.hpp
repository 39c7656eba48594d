#pragma once
// Where a Redis store connects: `redis://host[:port][/db]` (a host name, an IPv4 address, or an
// IPv6 address in brackets; port 6379 and database 0 by default) or `unix:///path[?db=N]`.
// Credentials never come from the URL: a URL gets copied into logs and scripts.

#include <charconv>
#include <desync/error.hpp>
#include <string>
#include <string_view>
#include <system_error>

namespace desync::detail::redis {

/// A parsed Redis URL.
struct target {
    bool unix_socket = false;
    std::string host;  // TCP: a name or an address
    int port = 6379;   // TCP
    std::string path;  // a Unix socket
    int db = 0;        // the database SELECTed after connecting
    std::string url;   // as given, for messages
};

/// Parses `url`; throws desync::store_error saying what is wrong with it.
inline target parse_url(std::string_view url) {
    target t;
    t.url = std::string(url);
    auto bad = [&](const std::string& why) -> target {
        throw store_error("desync: cannot use the Redis URL \"" + t.url + "\": " + why +
                          " (expected redis://host:port/db or unix:///path?db=N)");
    };
    auto number = [&](std::string_view text, int low, int high, const char* what) {
        int value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < low ||
            value > high)
            bad("its " + std::string(what) + " \"" + std::string(text) +
                "\" is not a number from " + std::to_string(low) + " to " + std::to_string(high));
        return value;
    };
    if (url.starts_with("unix://")) {
        std::string_view rest = url.substr(7);
        std::string_view query;
        if (auto q = rest.find('?'); q != std::string_view::npos)
            query = rest.substr(q + 1), rest = rest.substr(0, q);
        if (!rest.starts_with('/')) return bad("a Unix socket needs an absolute path");
        t.unix_socket = true;
        t.path = std::string(rest);
        if (!query.empty()) {
            if (!query.starts_with("db=")) return bad("the only query it takes is db=N");
            t.db = number(query.substr(3), 0, 1 << 20, "database");
        }
        return t;
    }
    if (!url.starts_with("redis://")) return bad("it names neither redis:// nor unix://");
    std::string_view rest = url.substr(8);
    std::string_view const authority = rest.substr(0, rest.find('/'));
    std::string_view const path = rest.substr(authority.size());
    if (authority.find('@') != std::string_view::npos)
        return bad(
            "credentials do not belong in a URL: set redis_options .username and .password, or "
            "DESYNC_REDIS_PASSWORD");
    if (rest.find_first_of("?#") != std::string_view::npos)
        return bad("a redis:// URL takes no query");
    std::string_view host = authority, port;
    if (authority.starts_with('[')) {
        auto const close = authority.find(']');
        if (close == std::string_view::npos) return bad("its IPv6 address lacks a ']'");
        host = authority.substr(1, close - 1);
        std::string_view const after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':')) return bad("text follows its IPv6 address");
        if (!after.empty()) port = after.substr(1);
    } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return bad("it names no host");
    t.host = std::string(host);
    if (!port.empty() || authority.ends_with(':')) t.port = number(port, 1, 65535, "port");
    if (path.size() > 1) t.db = number(path.substr(1), 0, 1 << 20, "database");
    return t;
}

}  // namespace desync::detail::redis
