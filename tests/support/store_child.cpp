// The other process of the SQLite store tests (test_store_sqlite starts it with fork and exec):
//
//   store_child write <path> <first> <count> <sync_every ms> <tag> [<pause after>]
//     writes results first .. first+count-1 (record_of("<tag>:<i>")), printing "ack <i>" as each
//     is durable; after <pause after> of them are durable, prints "paused" and waits for a line on
//     stdin; then flushes and prints "writes <w> skipped <s>".
//   store_child exit <path> <count> static|leaked
//     writes <count> results with sync_every one hour, prints "queued", and calls std::exit(0):
//     the store, a static (destroyed at exit) or leaked (never destroyed), must flush at exit.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <desync/store/sqlite.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "store_records.hpp"

namespace {

void say(const std::string& line) {
    std::string const text = line + "\n";
    (void)!::write(1, text.data(), text.size());
}

// Prints "ack <i>" when result i is durable; counts the acknowledgements.
struct ack final : desync::detail::store_write {
    std::uint64_t i = 0;
    desync::test::write_count* count = nullptr;
    void written(bool durable) noexcept override {
        if (durable) say("ack " + std::to_string(i));
        count->written(durable);
    }
};

int write(const std::string& path, std::uint64_t first, std::uint64_t count, long sync_ms,
          const std::string& tag, std::uint64_t pause_after) {
    desync::sqlite_store store(path, {.sync_every = std::chrono::milliseconds(sync_ms)});
    store.backend()->set_validator(desync::test::record_checks);
    desync::test::write_count told;
    std::vector<ack> acks(count);
    for (std::uint64_t n = 0; n < count; ++n) {
        if (n == pause_after) {
            store.flush();
            told.wait(static_cast<int>(n));
            say("paused");
            std::string go;
            std::getline(std::cin, go);
        }
        acks[n].i = first + n;
        acks[n].count = &told;
        std::string const payload = tag + ":" + std::to_string(first + n);
        store.backend()->write(desync::test::key_of(first + n), desync::test::record_of(payload),
                               &acks[n]);
    }
    store.flush();
    told.wait(static_cast<int>(count));
    desync::store_stats const s = store.stats();
    say("writes " + std::to_string(s.writes) + " skipped " + std::to_string(s.skipped));
    return 0;
}

[[noreturn]] void exit_with(const std::string& path, std::uint64_t count, const std::string& how) {
    desync::sqlite_options const options{.sync_every = std::chrono::hours(1)};
    desync::store store;
    if (how == "static") {
        static desync::sqlite_store kept(path, options);
        store = kept;
    } else {
        static desync::sqlite_store* never_destroyed = nullptr;  // reachable: not a leak to LSan
        never_destroyed = new desync::sqlite_store(path, options);
        store = *never_destroyed;
    }
    for (std::uint64_t i = 0; i < count; ++i)
        store.backend()->write(desync::test::key_of(i),
                               desync::test::record_of("exit:" + std::to_string(i)), nullptr);
    say("queued");
    if (how == "static") store = {};  // the static holds the last handle
    std::exit(0);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> const args(argv + 1, argv + argc);
    if (args.size() >= 6 && args[0] == "write")
        return write(args[1], std::stoull(args[2]), std::stoull(args[3]), std::stol(args[4]),
                     args[5], args.size() > 6 ? std::stoull(args[6]) : ~std::uint64_t{0});
    if (args.size() == 4 && args[0] == "exit") exit_with(args[1], std::stoull(args[2]), args[3]);
    std::fprintf(stderr, "usage: see tests/support/store_child.cpp\n");
    return 2;
}
