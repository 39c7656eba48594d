// Cache files (cache_file.hpp): round trips within and across processes, and untrusted files —
// garbage, every truncation, every single bit flipped, foreign headers, lying length fields —
// that are refused or loaded in part, never crash and never yield a wrong value. Values are
// checked by the bodies themselves; hits and misses by counting executions.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <desync/desync.hpp>
#include <desync/detail/cache/io.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/meeting.hpp"
#include "support/process.hpp"

static const bool configured = (desync::configure({.compute_threads = 2}), true);

namespace fs = std::filesystem;
using bytes = desync::test::bytes;

namespace {

std::atomic<int> runs{0};

fs::path scratch_dir() { return desync::test::scratch_dir("cache"); }
using desync::test::read_all;
using desync::test::write_all;

/// The bytes of a cache file, held as a load holds them.
std::shared_ptr<desync::detail::file_bytes> loaded_bytes(const bytes& all) {
    auto f = std::make_shared<desync::detail::file_bytes>();
    f->size = all.size();
    f->data = std::make_unique<std::byte[]>(all.size());
    std::memcpy(f->data.get(), all.data(), all.size());
    return f;
}

/// Scans the records of a file of this build and no salt into `d`, as a load does (`arriving`: as
/// its bytes arrive).
void scan_unsalted(const std::shared_ptr<desync::detail::file_bytes>& f,
                   desync::detail::cache_data& d,
                   const desync::detail::arriving_bytes* arriving = nullptr) {
    namespace cf = desync::detail::cache_format;
    desync::detail::scan_records(f, cf::make_header("").size(),
                                 cf::record_seed(cf::format_version, ""), cf::format_version, d,
                                 arriving);
}

/// load(), or an empty cache if the file is refused; `refused` says which.
desync::cache load_or_empty(const fs::path& p, bool& refused, std::string_view salt = {}) {
    refused = false;
    try {
        return desync::cache::load(p, salt);
    } catch (const desync::cache_error&) {
        refused = true;
        return {};
    }
}

std::string refusal(const fs::path& p, std::string_view salt = {}) {
    try {
        desync::cache::load(p, salt);
    } catch (const desync::cache_error& e) {
        return e.what();
    }
    return "(loaded)";
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

/// A header as a build with this format version and fingerprint would write it.
std::string header_of(std::uint32_t version, std::string_view fingerprint, std::string_view salt) {
    namespace cf = desync::detail::cache_format;
    std::string h(reinterpret_cast<const char*>(cf::magic), sizeof cf::magic);
    cf::put_le(h, version, 4);
    cf::put_le(h, cf::header_fixed + fingerprint.size(), 4);
    cf::put_le(h, cf::salt_hash(salt), 8);
    cf::put_le(h, fingerprint.size(), 2);
    h += fingerprint;
    cf::put_le(h, XXH3_64bits(h.data(), h.size()), 8);
    return h;
}

}  // namespace

struct point {
    int x = 0;
    double y = 0;
    std::string label;
    friend bool operator==(const point&, const point&) = default;
};

DESYNC_FN(times_three, [](int v) {
    ++runs;
    return v * 3;
});
DESYNC_FN(text_of, [](int v) {
    ++runs;
    return std::string(static_cast<std::size_t>(v), 'x');
});
DESYNC_FN(halves, [](int v) {
    ++runs;
    return std::vector<double>(static_cast<std::size_t>(v), 0.5);
});
DESYNC_FN(point_of, [](int v) {
    ++runs;
    return point{v, v / 2.0, "p" + std::to_string(v)};
});

// Calls all four for 1..n and counts results that differ from what the functions compute: a
// wrong value from the cache would show here.
DESYNC_FN(check_all, [](int n) {
    int wrong = 0;
    for (int v = 1; v <= n; ++v) {
        wrong += times_three(v).get() != v * 3;
        wrong += text_of(v).get() != std::string(static_cast<std::size_t>(v), 'x');
        wrong += halves(v).get() != std::vector<double>(static_cast<std::size_t>(v), 0.5);
        wrong += !(point_of(v).get() == point{v, v / 2.0, "p" + std::to_string(v)});
    }
    return wrong;
});

/// Saves the results of check_all(n) to `file`.
void save_results(const fs::path& file, int n, std::string_view salt = {}) {
    check_all.clear_cache();
    REQUIRE(check_all(n).get() == 0);
    desync::save_report r = check_all.get_cache().save(file, salt);
    REQUIRE(r.written == static_cast<std::size_t>(4 * n));
    REQUIRE(r.skipped == 0);
}

/// Installs `c`, runs check_all(n): no wrong value; returns how many calls ran.
int runs_with(const desync::cache& c, int n) {
    check_all.set_cache(c);
    runs = 0;
    REQUIRE(check_all(n).get() == 0);
    return runs;
}

TEST_CASE("a saved cache loads and every call hits", "[cache_file]") {
    REQUIRE(configured);
    fs::path file = scratch_dir() / "round_trip.cache";
    save_results(file, 3);
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.size() == 12);
    REQUIRE(c.dropped() == 0);
    REQUIRE(runs_with(c, 3) == 0);
    REQUIRE(runs_with(c, 4) == 4);  // new inputs miss
}

TEST_CASE("a loaded cache saves back to the same bytes, decoded or not", "[cache_file]") {
    fs::path file = scratch_dir() / "same_bytes.cache";
    save_results(file, 2);
    desync::cache c = desync::cache::load(file);
    c.save(scratch_dir() / "again.cache");
    REQUIRE(read_all(scratch_dir() / "again.cache") == read_all(file));
    REQUIRE(runs_with(c, 2) == 0);
    check_all.get_cache().save(scratch_dir() / "decoded.cache");
    REQUIRE(desync::cache::load(scratch_dir() / "decoded.cache").size() == 8);
}

TEST_CASE("an empty cache saves and loads", "[cache_file]") {
    fs::path file = scratch_dir() / "empty.cache";
    desync::save_report r = desync::cache{}.save(file);
    REQUIRE(r.written == 0);
    REQUIRE(desync::cache::load(file).empty());
}

TEST_CASE("a cache of many megabytes saves chunk by chunk and loads whole", "[cache_file]") {
    fs::path file = scratch_dir() / "chunks.cache";
    save_results(file, 1200);  // 6.5 MiB: chunks of 1 MiB, each written while the next is made
    REQUIRE(fs::file_size(file) > (std::uintmax_t{6} << 20));
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.size() == 4800);
    REQUIRE(c.dropped() == 0);
    REQUIRE(runs_with(c, 1200) == 0);
    c.save(scratch_dir() / "chunks_again.cache");
    REQUIRE(read_all(scratch_dir() / "chunks_again.cache") == read_all(file));
}

TEST_CASE("a file larger than a piece is checked as it arrives, damage found as in one read whole",
          "[cache_file]") {
    fs::path file = scratch_dir() / "arriving.cache";
    save_results(file, 1600);  // about 11 MiB: read on the reader's thread, checked behind it
    bytes all = read_all(file);
    REQUIRE(all.size() > desync::detail::file_reader::piece);
    // Two records damaged (a byte of each flipped, one of them in the second piece) and the
    // last one cut short.
    for (double where : {0.3, 0.8}) all[static_cast<std::size_t>(where * all.size())] ^= 0x5a;
    all.resize(all.size() - 100);
    write_all(file, all);
    // The same bytes scanned whole, with no reader: what the load must find.
    auto const whole = loaded_bytes(all);
    desync::detail::cache_data expected;
    scan_unsalted(whole, expected);
    REQUIRE(expected.dropped == 3);
    // The same bytes arriving as slowly as they can: each wait gives exactly what was asked.
    desync::detail::cache_data slow;
    desync::detail::arriving_bytes const trickle{all.size(), [](std::size_t n) { return n; }};
    scan_unsalted(whole, slow, &trickle);
    REQUIRE(slow.size() == expected.size());
    REQUIRE(slow.dropped == 3);
    // And a real load, whose reader's thread delivers pieces as the disk gives them.
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.size() == expected.size());
    REQUIRE(c.dropped() == 3);
    // No wrong value; every result lost to the damage runs again.
    REQUIRE(runs_with(c, 1600) == static_cast<int>(4 * 1600 - c.size()));
}

namespace {

/// How many file descriptors this process has open.
std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

}  // namespace

TEST_CASE("a save over a large file replaces it whole, and lets go of the old one",
          "[cache_file]") {
    fs::path file = scratch_dir() / "replaced.cache";
    save_results(file, 1300);  // over 1 MiB: the old file is freed on a thread of its own
    fs::path reference = scratch_dir() / "replacement.cache";
    save_results(reference, 1200);
    std::size_t const before = open_descriptors();
    check_all.get_cache().save(file);
    REQUIRE(read_all(file) == read_all(reference));
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.size() == 4800);
    REQUIRE(runs_with(c, 1200) == 0);
    // The replaced file's descriptor is closed soon, not kept. The bound on the wait only
    // turns a leak (which never ends) into a failure.
    desync::test::poll_until([&] { return open_descriptors() <= before; });
    REQUIRE(open_descriptors() == before);
}

TEST_CASE("a save replaces a FIFO or a symbolic link at its path, without waiting on either",
          "[cache_file]") {
    fs::path fifo = scratch_dir() / "fifo.cache";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    save_results(fifo, 3);  // opening the FIFO to read would wait for a writer forever
    REQUIRE(fs::is_regular_file(fs::symlink_status(fifo)));
    REQUIRE(runs_with(desync::cache::load(fifo), 3) == 0);

    fs::path target = scratch_dir() / "link_target.cache";
    save_results(target, 1300);
    bytes const kept = read_all(target);
    fs::path link = scratch_dir() / "link.cache";
    fs::create_symlink(target, link);
    save_results(link, 2);
    REQUIRE(fs::is_regular_file(fs::symlink_status(link)));  // the link, not its target
    REQUIRE(read_all(target) == kept);
    REQUIRE(runs_with(desync::cache::load(link), 2) == 0);
}

std::atomic<int> tree_runs{0};
DESYNC_FN(tree_leaf, [](int v) {
    ++tree_runs;
    return std::to_string(v);
});
DESYNC_FN(tree_mid, [](int v) {
    ++tree_runs;
    return tree_leaf(v).get() + "!";
});
DESYNC_FN(tree_top, [](int v) {
    ++tree_runs;
    return tree_mid(v).get().size();
});
DESYNC_FN(tree_root, [](int v) { return tree_top(v); });
DESYNC_FN(leaf_root, [](int v) { return tree_leaf(v); });

TEST_CASE("a hit on a loaded record records the records below it, undecoded", "[cache_file]") {
    fs::path file = scratch_dir() / "tree.cache";
    tree_root.clear_cache();
    tree_root(42).get();
    tree_root.get_cache().save(file);
    tree_runs = 0;
    tree_root.clear_cache();
    tree_root.set_cache(desync::cache::load(file));
    REQUIRE(tree_root(42).get() == 3);  // a hit: only tree_top(42)'s record is decoded
    REQUIRE(tree_runs == 0);
    desync::save_report r = tree_root.get_cache().save(file);  // the next run's file
    REQUIRE(r.written == 3);
    leaf_root.set_cache(desync::cache::load(file));
    REQUIRE(leaf_root(42).get() == "42");
    REQUIRE(tree_runs == 0);
}

TEST_CASE("a table keeps a loaded file while its records point into it, and no longer",
          "[cache_file]") {
    namespace d = desync::detail;
    namespace cf = d::cache_format;
    fs::path file = scratch_dir() / "kept.cache";
    tree_root.clear_cache();
    REQUIRE(tree_root(42).get() == 3);
    REQUIRE(tree_root.get_cache().save(file).written == 3);
    auto const loaded = loaded_bytes(read_all(file));
    auto scan = [&] {
        d::cache_data c;
        scan_unsalted(loaded, c);
        REQUIRE(c.read.size() == 3);
        REQUIRE(c.files.size() == 1);
        return c;
    };
    std::weak_ptr<const d::file_bytes> const watch = loaded;
    auto holders = [&] { return watch.use_count() - 1; };  // besides `loaded`
    d::memo_table table(0, 0);
    // Installed, then nothing: the file goes with its last installed record.
    table.install(scan());
    CHECK(holders() == 1);
    table.install({});
    CHECK(holders() == 0);
    // Installed, and a hit on tree_top's record, which records the two below it undecoded.
    table.install(scan());
    desync::hash128 top{};
    for (const std::byte* r : scan().read)
        if (cf::record_view{r}.type() == d::result_type_id<std::size_t>)
            top = cf::record_view{r}.key();
    d::taken_value<std::size_t> took;
    d::memo_found const hit =
        table.find(top, &d::type_tag<std::size_t>, false, took, d::decode_record<std::size_t>);
    REQUIRE(hit.hit);
    CHECK(took.get() == 3);
    // Nothing installed now, but this run's records of the file stay, and with them the file.
    table.install({});
    CHECK(holders() == 1);
    d::cache_data const recorded = table.recorded();
    CHECK(recorded.made.size() == 1);  // decoded by the hit
    REQUIRE(recorded.read.size() == 2);
    CHECK(recorded.files.size() == 1);
    CHECK(holders() == 2);
    for (const std::byte* r : recorded.read) CHECK(loaded->holds(r));
    table.clear();
    CHECK(holders() == 1);  // the cache taken above
    CHECK(table.recorded().files.empty());
    // Through the public calls (AddressSanitizer would see a record read after its file went):
    // a hit's records below it outlive the loaded cache and the next set_cache, and save whole.
    tree_root.clear_cache();
    tree_root.set_cache(desync::cache::load(file));
    tree_runs = 0;
    REQUIRE(tree_root(42).get() == 3);
    tree_root.set_cache(desync::cache{});
    fs::path const again = scratch_dir() / "kept_again.cache";
    REQUIRE(tree_root.get_cache().save(again).written == 3);
    leaf_root.set_cache(desync::cache::load(again));
    REQUIRE(leaf_root(42).get() == "42");
    CHECK(tree_runs == 0);
    tree_root.clear_cache();
    leaf_root.clear_cache();
}

TEST_CASE("first hits on loaded records are safe while set_cache, get_cache and clear_cache run",
          "[cache_file][threads]") {
    fs::path file = scratch_dir() / "meddled.cache";
    save_results(file, 40);
    std::atomic<bool> stop{false};
    std::thread meddler([&] {
        for (int i = 0; !stop; ++i) {
            check_all.set_cache(desync::cache::load(file));  // a new file each time
            if (i % 3 == 0) check_all.get_cache().save(scratch_dir() / "meddled_again.cache");
            if (i % 4 == 1) check_all.clear_cache();
        }
    });
    for (int round = 0; round < 20; ++round) {
        desync::lazy<int> a = check_all(40), b = check_all(39);
        REQUIRE(a.get() == 0);  // no wrong value
        REQUIRE(b.get() == 0);
    }
    stop = true;
    meddler.join();
    check_all.clear_cache();
}

// ---- untrusted files

TEST_CASE("unreadable and foreign files are refused with a cache_error that says why",
          "[cache_file]") {
    fs::path dir = scratch_dir();
    REQUIRE(contains(refusal(dir / "missing.cache"), "cannot read"));
    REQUIRE(contains(refusal(dir), "not a regular file"));
    write_all(dir / "empty.bin", bytes{});
    REQUIRE(contains(refusal(dir / "empty.bin"), "empty"));
    std::string text = "just some text, not a cache\n";
    write_all(dir / "text.bin", bytes(text.begin(), text.end()));
    REQUIRE(contains(refusal(dir / "text.bin"), "bad magic"));

    fs::path good = dir / "salted.cache";
    save_results(good, 1, "experiment 1");
    REQUIRE(contains(refusal(good), "another salt"));
    REQUIRE(contains(refusal(good, "experiment 2"), "another salt"));
    REQUIRE(desync::cache::load(good, "experiment 1").size() == 4);

    bytes b = read_all(good);
    b[8] = 4;  // format version 4, from a later build
    write_all(dir / "v4.cache", b);
    REQUIRE(contains(refusal(dir / "v4.cache"), "format version 4"));
    b[8] = 0;
    write_all(dir / "v0.cache", b);
    REQUIRE(contains(refusal(dir / "v0.cache"), "format version 0"));
}

namespace {
/// `file` (format version 3) rewritten as format version 1 or 2 wrote it: records without the
/// callee's hash and what its run called, no sets of functions called; version 1 with its own
/// fingerprint and unseeded record checksums.
bytes as_version(const fs::path& file, std::string_view salt, std::uint32_t version) {
    namespace cf = desync::detail::cache_format;
    bytes const all = read_all(file);
    std::size_t at = cf::make_header(salt).size();
    std::string out =
        header_of(version, version == 1 ? cf::fingerprint_v1() : cf::fingerprint(), salt);
    while (at < all.size()) {
        cf::record_view const r{reinterpret_cast<const std::byte*>(all.data() + at)};
        at += r.size();
        if (r.type() == cf::dep_set_type) continue;
        std::size_t const start = out.size();
        std::string head(reinterpret_cast<const char*>(r.at), cf::at_callee);
        out += head;
        cf::put_le(out, r.children(), 8);
        auto const* rest = reinterpret_cast<const char*>(r.at) + cf::at_child_keys;
        out.append(rest, 16 * r.children() + r.value().size());
        cf::put_le(out,
                   XXH3_64bits_withSeed(out.data() + start, out.size() - start,
                                        cf::record_seed(version, salt)),
                   8);
    }
    return bytes(out.begin(), out.end());
}
}  // namespace

TEST_CASE("files of format versions 1 and 2 load, and their results miss", "[cache_file]") {
    fs::path now = scratch_dir() / "now.cache";
    save_results(now, 3, "old salt");
    namespace cf = desync::detail::cache_format;
    REQUIRE(header_of(cf::format_version, cf::fingerprint(), "x") == cf::make_header("x"));
    for (std::uint32_t version : {1u, 2u}) {
        fs::path old = scratch_dir() / ("v" + std::to_string(version) + ".cache");
        write_all(old, as_version(now, "old salt", version));
        desync::cache const c = desync::cache::load(old, "old salt");
        CHECK(c.size() == 0);  // they say nothing of what their runs called: never served
        CHECK(c.outdated() == 12);
        CHECK(c.dropped() == 0);
        CHECK(runs_with(c, 3) == 12);
        CHECK(contains(refusal(old, "another"), "another salt"));
    }
    // Version 1 records under a version 3 header: damage, not results.
    bytes mixed = as_version(now, "old salt", 1);
    bytes const header = read_all(now);
    std::size_t const v1_header = cf::header_fixed + cf::fingerprint_v1().size();
    std::size_t const v3_header = cf::make_header("old salt").size();
    mixed.erase(mixed.begin(), mixed.begin() + static_cast<long>(v1_header));
    mixed.insert(mixed.begin(), header.begin(), header.begin() + static_cast<long>(v3_header));
    fs::path file = scratch_dir() / "mixed.cache";
    write_all(file, mixed);
    desync::cache const none = desync::cache::load(file, "old salt");
    REQUIRE(none.size() == 0);
    REQUIRE(none.dropped() == 1);  // one damaged stretch
}

DESYNC_FN(salted_weight, [](int v) {
    ++runs;
    return v * 1000 + static_cast<int>(fs::file_size(scratch_dir() / "dataset"));
});
DESYNC_FN(weigh, [](int v) { return salted_weight(v).get(); });
DESYNC_FN(file_text, [](std::string path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
});
DESYNC_FN(text_size, [](std::string path) { return file_text(path).get().size(); });

TEST_CASE("a record nested in a damaged record's value checks only under its own salt",
          "[cache_file]") {
    // The salt stands for the data the functions read (here: the size of a file).
    write_all(scratch_dir() / "dataset", bytes(1, 'x'));
    weigh.clear_cache();
    REQUIRE(weigh(7).get() == 7001);
    fs::path one = scratch_dir() / "dataset-1.cache";
    weigh.get_cache().save(one, "dataset-1");
    // A cached result that holds the bytes of that file, saved under the second salt.
    text_size.clear_cache();
    REQUIRE(text_size(one.string()).get() == read_all(one).size());
    fs::path two = scratch_dir() / "dataset-2.cache";
    REQUIRE(text_size.get_cache().save(two, "dataset-2").written == 1);
    bytes b = read_all(two);
    b.back() = static_cast<char>(b.back() ^ 1);  // the outer record's checksum
    write_all(two, b);
    desync::cache const c = desync::cache::load(two, "dataset-2");
    CHECK(c.dropped() == 1);
    CHECK(c.size() == 0);  // not the record inside: it belongs to dataset-1
    write_all(scratch_dir() / "dataset", bytes(2, 'x'));
    weigh.set_cache(c);
    runs = 0;
    CHECK(weigh(7).get() == 7002);
    CHECK(runs == 1);
}

TEST_CASE("a file written by another build is refused, naming both builds", "[cache_file]") {
    namespace cf = desync::detail::cache_format;
    std::string const h =
        header_of(cf::format_version, "GCC 1.0, libstdc++ 1 (old ABI), pdp11, big-endian", "");
    fs::path file = scratch_dir() / "foreign.cache";
    write_all(file, bytes(h.begin(), h.end()));
    std::string why = refusal(file);
    REQUIRE(contains(why, "another build"));
    REQUIRE(contains(why, "pdp11"));
    REQUIRE(contains(why, cf::compiler_name()));
}

TEST_CASE("random garbage never crashes the loader", "[cache_file]") {
    std::mt19937 rng(7);
    fs::path file = scratch_dir() / "garbage.cache";
    std::string const header = desync::detail::cache_format::make_header("");
    for (int round = 0; round < 200; ++round) {
        bytes b(rng() % 2000);
        for (char& c : b) c = static_cast<char>(rng());
        if (round % 2) b.insert(b.begin(), header.begin(), header.end());  // a valid header
        write_all(file, b);
        bool refused = false;
        desync::cache c = load_or_empty(file, refused);
        REQUIRE(refused == (round % 2 == 0));
        REQUIRE(runs_with(c, 1) == 4);
    }
}

TEST_CASE("every truncation of a file loads the whole records before the cut", "[cache_file]") {
    fs::path good = scratch_dir() / "whole.cache";
    save_results(good, 2);
    bytes const all = read_all(good);
    std::size_t const header = desync::detail::cache_format::make_header("").size();
    fs::path file = scratch_dir() / "cut.cache";
    std::size_t last_size = 0;
    for (std::size_t cut = 0; cut <= all.size(); ++cut) {
        write_all(file, bytes(all.begin(), all.begin() + static_cast<long>(cut)));
        bool refused = false;
        desync::cache c = load_or_empty(file, refused);
        REQUIRE(refused == (cut < header));
        REQUIRE(c.size() >= last_size);  // whole records never go missing
        last_size = c.size();
        REQUIRE(c.dropped() <= 1);
        REQUIRE(runs_with(c, 2) == 8 - static_cast<int>(c.size()));
    }
    REQUIRE(last_size == 8);
}

TEST_CASE("every single bit flipped: refused, or one record dropped, never a wrong value",
          "[cache_file]") {
    fs::path good = scratch_dir() / "flip_source.cache";
    save_results(good, 2);
    bytes const all = read_all(good);
    std::size_t const header = desync::detail::cache_format::make_header("").size();
    fs::path file = scratch_dir() / "flipped.cache";
    for (std::size_t bit = 0; bit < all.size() * 8; ++bit) {
        bytes b = all;
        b[bit / 8] = static_cast<char>(b[bit / 8] ^ (1 << (bit % 8)));
        write_all(file, b);
        bool refused = false;
        desync::cache c = load_or_empty(file, refused);
        REQUIRE(refused == (bit / 8 < header));
        if (!refused) {
            REQUIRE(c.dropped() == 1);
            REQUIRE(c.size() == 7);
        }
        REQUIRE(runs_with(c, 2) == 8 - static_cast<int>(c.size()));
    }
}

TEST_CASE("a length field of 2^62 is a damaged record, not an allocation", "[cache_file]") {
    namespace cf = desync::detail::cache_format;
    fs::path good = scratch_dir() / "length_source.cache";
    save_results(good, 2);
    bytes b = read_all(good);
    std::size_t const first = cf::make_header("").size();
    std::uint64_t const huge = std::uint64_t{1} << 62;
    std::memcpy(b.data() + first + cf::at_length, &huge, 8);
    fs::path file = scratch_dir() / "huge_length.cache";
    write_all(file, b);
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.dropped() == 1);
    REQUIRE(c.size() == 7);
    REQUIRE(runs_with(c, 2) == 1);

    // The same lie at the very end of a file, with nothing after it.
    bytes tail(b.begin(), b.begin() + static_cast<long>(first + cf::at_child_keys));
    write_all(file, tail);
    c = desync::cache::load(file);
    REQUIRE(c.dropped() == 1);
    REQUIRE(c.empty());
}

TEST_CASE("a record whose checksum holds but whose value does not decode is a miss",
          "[cache_file]") {
    namespace cf = desync::detail::cache_format;
    fs::path good = scratch_dir() / "decode_source.cache";
    save_results(good, 2);
    bytes const all = read_all(good);
    std::size_t at = cf::make_header("").size();
    std::string out(all.begin(), all.begin() + static_cast<long>(at));
    int strings = 0;
    while (at < all.size()) {  // rewrite every string record with a count its bytes cannot hold
        cf::record_view const r{reinterpret_cast<const std::byte*>(all.data() + at)};
        std::vector<desync::hash128> children;
        for (std::size_t i = 0; i < r.children(); ++i) children.push_back(r.child(i));
        std::size_t const start = cf::begin_record(
            out, {r.key(), r.type(), r.duration_ns(), r.callee(), r.deps_ref()}, children);
        if (r.type() == desync::detail::result_type_id<std::string>) {
            cf::put_le(out, 1000, 8);
            out += "x";
            ++strings;
        } else {
            out.append(reinterpret_cast<const char*>(r.value().data()), r.value().size());
        }
        cf::finish_record(out, start, cf::record_seed(cf::format_version, ""));
        at += r.size();
    }
    REQUIRE(strings == 2);
    fs::path file = scratch_dir() / "undecodable.cache";
    write_all(file, bytes(out.begin(), out.end()));
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.size() == 8);
    REQUIRE(c.dropped() == 0);
    REQUIRE(runs_with(c, 2) == 2);  // the two strings run; nothing wrong is served
    REQUIRE(runs_with(c, 2) == 2);
}

TEST_CASE("a set of functions called with no entries is a damaged record", "[cache_file]") {
    // Found by tests/fuzz/fuzz_cache_file: an empty set was copied from a null pointer (UBSan's
    // nonnull check fails the asan-ubsan preset here). No save writes one.
    namespace cf = desync::detail::cache_format;
    std::string out = cf::make_header("");
    std::size_t const start =
        cf::begin_record(out, {desync::hash128{7, 7}, cf::dep_set_type, 0, 0, 0}, {});
    cf::finish_record(out, start, cf::record_seed(cf::format_version, ""));
    fs::path file = scratch_dir() / "empty_set.cache";
    write_all(file, bytes(out.begin(), out.end()));
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.size() == 0);
    REQUIRE(c.dropped() == 1);
}

namespace {
std::function<void()> during_decode;  // run once, by the next default construction

// A result whose decoding (it is default-constructed first) can do something in the middle:
// throw, or change the cache.
class decode_hook {
public:
    decode_hook() {
        if (during_decode) std::exchange(during_decode, nullptr)();
    }
    explicit decode_hook(int v) : v_(v) {}
    int value() const { return v_; }
    friend auto desync_fields(const decode_hook& h) { return std::tie(h.v_); }
    friend auto desync_fields(decode_hook& h) { return std::tie(h.v_); }

private:
    int v_ = 0;
};
}  // namespace

DESYNC_FN(hooked_of, [](int v) {
    ++runs;
    return decode_hook(v);
});
DESYNC_FN(hooked_root, [](int v) { return hooked_of(v).get().value(); });

TEST_CASE("a record whose decoding throws is a miss: the call runs, and the record stays",
          "[cache_file]") {
    fs::path file = scratch_dir() / "throwing.cache";
    hooked_root.clear_cache();
    runs = 0;
    REQUIRE(hooked_root(2).get() == 2);
    REQUIRE(runs == 1);
    REQUIRE(hooked_root.get_cache().save(file).written == 1);
    hooked_root.clear_cache();
    hooked_root.set_cache(desync::cache::load(file));
    during_decode = [] { throw std::runtime_error("decode_hook: not now"); };
    runs = 0;
    CHECK(hooked_root(2).get() == 2);  // a miss, not the decoder's exception
    CHECK(during_decode == nullptr);   // it threw, in the decoding
    CHECK(runs == 1);
    CHECK(hooked_root.get_cache().size() == 1);  // the run's own result, to save
    // The record stays installed (out of memory may pass): once it decodes, it is a hit.
    CHECK(hooked_root(2).get() == 2);
    CHECK(runs == 1);
    hooked_root.clear_cache();
}

TEST_CASE("a hit whose record set_cache replaces while it decodes is still recorded",
          "[cache_file]") {
    fs::path file = scratch_dir() / "hooked.cache";
    hooked_root.clear_cache();
    REQUIRE(hooked_root(5).get() == 5);
    REQUIRE(hooked_root.get_cache().save(file).written == 1);
    desync::cache const first = desync::cache::load(file);
    desync::cache const second = desync::cache::load(file);  // the same record, other bytes
    hooked_root.clear_cache();
    hooked_root.set_cache(first);
    during_decode = [&] { hooked_root.set_cache(second); };
    runs = 0;
    REQUIRE(hooked_root(5).get() == 5);
    REQUIRE(during_decode == nullptr);  // it ran, in the decoding
    REQUIRE(runs == 0);
    CHECK(hooked_root.get_cache().size() == 1);  // the hit's value, for the next save
    hooked_root.clear_cache();
}

TEST_CASE("a file whose name leaves no room for the temporary name's suffix saves",
          "[cache_file]") {
    fs::path const file = scratch_dir() / std::string(250, 'n');  // 255 is the longest name
    save_results(file, 2);
    REQUIRE(desync::cache::load(file).size() == 8);
    save_results(file, 3);  // replaced
    REQUIRE(desync::cache::load(file).size() == 12);
    std::size_t names = 0;
    for (const auto& e : fs::directory_iterator(scratch_dir()))
        names += e.path().filename().string().find(std::string(160, 'n')) != std::string::npos;
    CHECK(names == 1);  // no temporary file left
    fs::remove(file);
}

// Run by ctest with tests/fault/fail_dir_fsync.cpp preloaded (tests/CMakeLists.txt).
TEST_CASE("fault: a save whose directory cannot be synced is an error, its file in place",
          "[.fault]") {
    REQUIRE(std::getenv("DESYNC_FAIL_DIR_FSYNC") != nullptr);
    {  // the fault is there: a directory's fsync fails
        int const d = ::open(scratch_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(d >= 0);
        int const r = ::fsync(d);
        int const e = errno;
        ::close(d);
        REQUIRE((r == -1 && e == EIO));
    }
    fs::path const file = scratch_dir() / "dir-sync.cache";
    check_all.clear_cache();
    REQUIRE(check_all(2).get() == 0);
    std::string why = "(no error)";
    try {
        check_all.get_cache().save(file);
    } catch (const desync::cache_error& e) {
        why = e.what();
    }
    CHECK(contains(why, "cannot sync its directory"));
    CHECK(contains(why, "dir-sync.cache"));
    CHECK(desync::cache::load(file).size() == 8);  // the new file, whole, in place
    // A directory that cannot even be opened cannot be synced either.
    ::setenv("DESYNC_FAIL_DIR_OPEN", "1", 1);
    why = "(no error)";
    try {
        check_all.get_cache().save(file);
    } catch (const desync::cache_error& e) {
        why = e.what();
    }
    ::unsetenv("DESYNC_FAIL_DIR_OPEN");
    CHECK(contains(why, "cannot sync its directory"));
    CHECK(contains(why, "Permission denied"));
    CHECK(desync::cache::load(file).size() == 8);
}

// ---- across processes: this program re-run as a child, one hidden test case per role

namespace {

/// Runs this test program again as a child running only the hidden test "cache file: child
/// process", with `role` and `file` in its environment. Returns its pid.
pid_t spawn_child(const std::string& role, const fs::path& file) {
    pid_t const pid =
        desync::test::spawn_self("cache file: child process",
                                 {"DESYNC_TEST_ROLE=" + role, "DESYNC_TEST_FILE=" + file.string()});
    REQUIRE(pid > 0);
    return pid;
}

int wait_child(pid_t pid) {
    int const status = desync::test::wait_child(pid);
    REQUIRE(status != -1);
    return status;
}

using desync::test::exited_cleanly;

bool armed = false;                 // encoding a fragile fails...
bool crash_when_encoded = false;    // ...by killing the process, not by throwing
const char* stall_until = nullptr;  // ...or waits until this file exists, then goes on

void stall() {
    write_all(fs::path(stall_until).replace_extension(".stalled"), bytes(1, 's'));
    desync::test::poll_until([] { return fs::exists(stall_until); });
}

// A container whose encoding, once armed, kills the process (or throws) at its element 13: a
// crash in the middle of a save.
struct fragile {
    std::vector<int> items;
    struct iterator {
        using iterator_concept = std::forward_iterator_tag;
        using value_type = int;
        using difference_type = std::ptrdiff_t;
        const int* p = nullptr;
        const int& operator*() const {
            if (*p == 13 && armed && stall_until) return stall(), *p;
            if (*p == 13 && armed && crash_when_encoded) ::raise(SIGKILL);
            if (*p == 13 && armed) throw std::runtime_error("fragile: cannot encode 13");
            return *p;
        }
        iterator& operator++() { return ++p, *this; }
        iterator operator++(int) { return {p++}; }
        bool operator==(const iterator&) const = default;
    };
    iterator begin() const { return {items.data()}; }
    iterator end() const { return {items.data() + items.size()}; }
    std::size_t size() const { return items.size(); }
    void clear() { items.clear(); }
    void push_back(int v) { items.push_back(v); }
};

std::atomic<int> range_runs{0};

}  // namespace

DESYNC_FN(range_leaf, [](int v) {
    ++range_runs;
    return v * 7;
});
DESYNC_FN(range_root, [](int first, int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += range_leaf(first + i);
    return sum;
});
DESYNC_FN(big_result, [](int n) {
    ++runs;
    return std::vector<char>(static_cast<std::size_t>(n), 'b');
});
DESYNC_FN(fragile_result, [](int n) {
    fragile f;
    for (int i = 0; i < n; ++i) f.push_back(i);
    return f;
});
DESYNC_FN(fragile_root, [](int n) {
    big_result(3 << 20).get();  // written before the fragile one: the save is under way
    return fragile_result(n).get().size();
});

TEST_CASE("cache file: child process", "[.child]") {
    const char* role = std::getenv("DESYNC_TEST_ROLE");
    const char* file = std::getenv("DESYNC_TEST_FILE");
    REQUIRE(role);
    REQUIRE(file);
    std::string r = role;
    if (r == "save") {
        save_results(file, 3);
    } else if (r.rfind("range ", 0) == 0) {  // "range <first>": saves range_leaf(first..+99)
        int const first = std::stoi(r.substr(6));
        for (int round = 0; round < 5; ++round) {
            range_root(first, 100).get();
            range_root.get_cache().save(file);
        }
    } else if (r == "crash") {
        fragile_root(20).get();
        armed = crash_when_encoded = true;
        fragile_root.get_cache().save(file);  // killed in the middle
        FAIL("the save should have been killed");
    } else if (r == "stall") {  // a save that stops writing until <file>.go exists
        fragile_root(20).get();
        std::string const go = std::string(file) + ".go";
        stall_until = go.c_str();
        armed = true;
        fragile_root.get_cache().save(file);
    }
}

TEST_CASE("a cache saved by one process is used by the next", "[cache_file][process]") {
    fs::path file = scratch_dir() / "from_child.cache";
    fs::remove(file);
    REQUIRE(exited_cleanly(wait_child(spawn_child("save", file))));
    desync::cache c = desync::cache::load(file);
    REQUIRE(c.size() == 12);
    REQUIRE(runs_with(c, 3) == 0);
}

TEST_CASE("processes saving at once leave one whole file, and no temporary files",
          "[cache_file][process]") {
    fs::path dir = scratch_dir() / "concurrent";
    fs::create_directories(dir);
    fs::path file = dir / "shared.cache";
    for (int round = 0; round < 4; ++round) {
        std::vector<pid_t> children;
        for (int i = 0; i < 4; ++i)
            children.push_back(spawn_child("range " + std::to_string(1000 * i), file));
        for (pid_t pid : children) REQUIRE(exited_cleanly(wait_child(pid)));
        desync::cache c = desync::cache::load(file);
        REQUIRE(c.size() == 100);
        REQUIRE(c.dropped() == 0);
        range_root.set_cache(c);
        int whole = 0;
        for (int i = 0; i < 4; ++i) {
            range_runs = 0;
            range_root(1000 * i, 100).get();
            whole += range_runs == 0;
        }
        REQUIRE(whole == 1);  // exactly one writer's whole file
        REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
    }
}

TEST_CASE("a save that fails half way leaves the old file as it was", "[cache_file]") {
    fs::path file = scratch_dir() / "survivor.cache";
    save_results(file, 2);
    bytes const before = read_all(file);
    fragile_root(20).get();
    armed = true;
    REQUIRE_THROWS_AS(fragile_root.get_cache().save(file), std::runtime_error);
    armed = false;
    REQUIRE(read_all(file) == before);
    for (const auto& entry : fs::directory_iterator(scratch_dir()))
        REQUIRE(!contains(entry.path().filename().string(), ".tmp-"));
}

namespace {

/// The names in `dir` that start with `prefix`.
std::vector<std::string> names_starting(const fs::path& dir, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with(prefix))
            out.push_back(e.path().filename().string());
    return out;
}

/// Makes `p` (created if missing) look last written two minutes ago.
void two_minutes_old(const fs::path& p) {
    if (!fs::exists(p)) write_all(p, bytes(10, 't'));
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::minutes(2));
}

/// Saves check_all(2) to `file` in a directory of its own, then has a child process killed in
/// the middle of saving over it. Returns what the file held before.
bytes killed_save(const fs::path& file) {
    fs::create_directories(file.parent_path());
    save_results(file, 2);
    bytes before = read_all(file);
    int status = wait_child(spawn_child("crash", file));
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    return before;
}

}  // namespace

TEST_CASE("a process killed in the middle of a save leaves the old file as it was",
          "[cache_file][process]") {
    fs::path file = scratch_dir() / "killed" / "survivor.cache";
    bytes const before = killed_save(file);
    REQUIRE(read_all(file) == before);
    REQUIRE(runs_with(desync::cache::load(file), 2) == 0);
}

TEST_CASE("a save removes the temporary files of killed saves, and nothing else",
          "[cache_file][process]") {
    fs::path dir = scratch_dir() / "abandoned";
    fs::path file = dir / "kept.cache";
    killed_save(file);
    auto const left = names_starting(dir, ".kept.cache.tmp-");
    REQUIRE(left.size() == 1);
    fs::path const abandoned = dir / left[0];

    save_results(file, 2);  // written just now: it might be a save that has only just begun
    REQUIRE(fs::exists(abandoned));

    two_minutes_old(abandoned);
    fs::path const held = dir / ".kept.cache.tmp-HELD00";  // a save still writing it
    two_minutes_old(held);
    int lock = ::open(held.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(lock >= 0);
    REQUIRE(::flock(lock, LOCK_EX | LOCK_NB) == 0);
    std::vector<fs::path> const others = {dir / ".kept.cache.tmp-TOOLONG",  // not mkstemp's
                                          dir / ".other.cache.tmp-ABCDEF",  // another target's
                                          dir / "kept.cache.tmp-ABCDEF"};   // not hidden
    for (const auto& p : others) two_minutes_old(p);
    fs::create_directory(dir / ".kept.cache.tmp-DIR000");

    save_results(file, 2);
    REQUIRE(!fs::exists(abandoned));
    REQUIRE(fs::exists(held));
    for (const auto& p : others) REQUIRE(fs::exists(p));
    REQUIRE(fs::is_directory(dir / ".kept.cache.tmp-DIR000"));
    REQUIRE(runs_with(desync::cache::load(file), 2) == 0);

    ::close(lock);  // its save is gone now
    save_results(file, 2);
    REQUIRE(!fs::exists(held));
}

TEST_CASE("a saved file keeps the replaced file's mode, until then its temporary file is 0600",
          "[cache_file][process]") {
    fs::path dir = scratch_dir() / "modes";
    fs::remove_all(dir);
    fs::path file = dir / "mode.cache";
    using fs::perms;
    perms const rw_r_r =
        perms::owner_read | perms::owner_write | perms::group_read | perms::others_read;
    perms const r_r_r = perms::owner_read | perms::group_read | perms::others_read;
    killed_save(file);
    REQUIRE(fs::status(file).permissions() == rw_r_r);  // a new file
    // Killed before it took the target's mode: its owner can still open it to lock and remove
    // it, even where the target is read-only.
    auto const left = names_starting(dir, ".mode.cache.tmp-");
    REQUIRE(left.size() == 1);
    REQUIRE(fs::status(dir / left[0]).permissions() == (perms::owner_read | perms::owner_write));

    fs::permissions(file, r_r_r);
    save_results(file, 2);
    REQUIRE(fs::status(file).permissions() == r_r_r);
    REQUIRE(runs_with(desync::cache::load(file), 2) == 0);
}

TEST_CASE("a save never removes the temporary file of a save still under way, however old",
          "[cache_file][process]") {
    fs::path dir = scratch_dir() / "under_way";
    fs::create_directories(dir);
    fs::path file = dir / "slow.cache";
    fragile_root.clear_cache();
    fragile_root(20).get();
    std::size_t const results = fragile_root.get_cache().size();  // what the child saves
    pid_t const child = spawn_child("stall", file);
    desync::test::poll_until([&] { return fs::exists(dir / "slow.cache.stalled"); });
    auto const temps = names_starting(dir, ".slow.cache.tmp-");
    REQUIRE(temps.size() == 1);
    two_minutes_old(dir / temps[0]);  // as if the child had stopped writing long ago
    save_results(file, 2);
    REQUIRE(fs::exists(dir / temps[0]));
    write_all(fs::path(file.string() + ".go"), bytes(1, 'g'));
    REQUIRE(exited_cleanly(wait_child(child)));
    REQUIRE(!fs::exists(dir / temps[0]));
    desync::cache const saved = desync::cache::load(file);  // the child's, whole
    REQUIRE(saved.size() == results);
    REQUIRE(saved.dropped() == 0);
}

TEST_CASE("a FIFO at the path is refused, not waited on", "[cache_file]") {
    fs::path fifo = scratch_dir() / "fifo_refused.cache";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    REQUIRE(contains(refusal(fifo), "not a regular file"));
    fs::remove(fifo);
}

TEST_CASE("a file of records that each claim the rest of it loads in linear time", "[cache_file]") {
    namespace cf = desync::detail::cache_format;
    // A record marker every 64 bytes, each with lengths that reach the end of the file: every
    // one is a candidate whose checksum covers the rest of the file.
    std::string const header = cf::make_header("");
    for (std::size_t size : {std::size_t{1} << 16, std::size_t{1} << 20}) {
        std::string body(size, '\0');
        for (std::size_t at = 0; at + cf::record_overhead <= size; at += 64) {
            std::uint32_t const m = cf::marker;
            std::memcpy(body.data() + at, &m, 4);
            std::uint64_t const length = size - at - cf::record_overhead;
            std::memcpy(body.data() + at + cf::at_length, &length, 8);
        }
        auto file = std::make_shared<desync::detail::file_bytes>();
        file->size = header.size() + body.size();
        file->data = std::make_unique<std::byte[]>(file->size);
        std::memcpy(file->data.get(), header.data(), header.size());
        std::memcpy(file->data.get() + header.size(), body.data(), body.size());
        desync::detail::cache_data d;
        std::size_t const hashed = desync::detail::scan_records(
            file, header.size(), cf::record_seed(cf::format_version, ""), cf::format_version, d);
        CHECK(hashed <= 5 * file->size + 4096);  // quadratic would be about size * size / 128
        CHECK(d.size() == 0);
        CHECK(d.dropped == 1);
    }
}

DESYNC_FN(called_leaf, [](int v) {
    ++runs;
    return v + 1;
});
DESYNC_FN(caller_of_leaf, [](int v) {
    ++runs;
    return called_leaf(v).get() * 2;
});
DESYNC_FN(callers_root, [](int n) {
    int sum = 0;
    for (int v = 0; v < n; ++v) sum += caller_of_leaf(v).get();
    return sum;
});

TEST_CASE("what a result's run called is saved once per file and serves after a load",
          "[cache_file]") {
    namespace cf = desync::detail::cache_format;
    callers_root.clear_cache();
    REQUIRE(callers_root(10).get() == 110);
    fs::path file = scratch_dir() / "called.cache";
    REQUIRE(callers_root.get_cache().save(file).written == 20);
    // One set of functions called (caller_of_leaf's runs all called called_leaf), written
    // before the first record that refers to it.
    bytes const all = read_all(file);
    std::size_t sets = 0, first_set = 0, first_caller = 0;
    for (std::size_t at = cf::make_header("").size(), n = 0; at < all.size(); ++n) {
        cf::record_view const r{reinterpret_cast<const std::byte*>(all.data() + at)};
        if (r.type() == cf::dep_set_type && sets++ == 0) first_set = n;
        if (r.deps_ref() > desync::detail::no_deps_ref && first_caller == 0) first_caller = n;
        at += r.size();
    }
    REQUIRE(sets == 1);
    REQUIRE(first_set < first_caller);
    desync::cache const c = desync::cache::load(file);
    REQUIRE(c.size() == 20);
    callers_root.set_cache(c);
    runs = 0;
    REQUIRE(callers_root(10).get() == 110);
    REQUIRE(runs == 0);
    // Records that refer to a set this process has never seen (its record lost): misses, and
    // the leaves, which called nothing, still hit.
    std::string out(all.begin(), all.begin() + static_cast<long>(cf::make_header("").size()));
    for (std::size_t at = out.size(); at < all.size();) {
        cf::record_view const r{reinterpret_cast<const std::byte*>(all.data() + at)};
        at += r.size();
        if (r.type() == cf::dep_set_type) continue;
        std::vector<desync::hash128> children;
        for (std::size_t i = 0; i < r.children(); ++i) children.push_back(r.child(i));
        std::uint64_t const deps =
            r.deps_ref() > desync::detail::no_deps_ref ? 0x5e7f00d5e7f00dull : r.deps_ref();
        std::size_t const start =
            cf::begin_record(out, {r.key(), r.type(), r.duration_ns(), r.callee(), deps}, children);
        out.append(reinterpret_cast<const char*>(r.value().data()), r.value().size());
        cf::finish_record(out, start, cf::record_seed(cf::format_version, ""));
    }
    fs::path lost = scratch_dir() / "called-lost-set.cache";
    write_all(lost, bytes(out.begin(), out.end()));
    desync::cache const d = desync::cache::load(lost);
    REQUIRE(d.size() == 20);
    REQUIRE(d.dropped() == 0);
    callers_root.set_cache(d);
    runs = 0;
    REQUIRE(callers_root(10).get() == 110);
    REQUIRE(runs == 10);  // the callers ran; the leaves hit
}
