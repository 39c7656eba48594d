#pragma once
/// \file
/// desync::redis_store: a store on a Redis server, shared by every machine that reaches it
/// (docs/stores.md). Needs the CMake target desync::redis, which links hiredis.

#ifndef DESYNC_HAS_REDIS_TARGET
#error \
    "desync/store/redis.hpp needs the CMake target desync::redis (defined when hiredis is found): target_link_libraries(<target> PRIVATE desync::redis)"
#else

#include <desync/detail/store/redis_backend.hpp>
#include <desync/detail/store/redis_url.hpp>
#include <desync/store.hpp>
#include <memory>
#include <string_view>
#include <utility>

namespace desync {

/// A store on the Redis server at a URL (`redis://host:port/db`, `unix:///path?db=N`). It fails
/// soft: a server that cannot be reached, is too slow, refuses the password or a write, or goes
/// away switches the store off for the rest of the run (one line on stderr, counted in `errors`);
/// lookups then miss, or fail with desync::store_error when the store is `required`.
class redis_store : public store {
public:
    /// Connects to `url` in the background (a bad URL throws desync::store_error at once).
    explicit redis_store(std::string_view url, const redis_options& options = {})
        : redis_store(url, options, detail::store_namespace::of_this_build(options.salt)) {}
    /// The same, reading and writing the namespace `space` (for desync's memo layer and tests).
    redis_store(std::string_view url, const redis_options& options, detail::store_namespace space)
        : store(std::make_shared<detail::redis::backend>(detail::redis::parse_url(url), options,
                                                         std::move(space))) {}
};

}  // namespace desync

#endif
