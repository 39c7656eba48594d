// desync::distributed functions under mpiexec (3 ranks: rank 0 runs the Catch2 cases tagged
// [distributed], the others serve) and alone (one rank: the same cases, every call local).
// Every check is structural: results compared with a plain computation, ranks and calls counted,
// never timed.
#include <cstdint>
#include <cstdlib>
#include <desync/desync.hpp>
#include <desync/mpi.hpp>
#include <desync/store/sqlite.hpp>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#endif
#include "support/catch.hpp"
#include "support/meeting.hpp"

using desync::test::poll_until;

namespace {

desync::mpi::cluster* the_cluster = nullptr;
int my_rank = -1;  // this process's rank: what a body reports as where it ran

struct params {
    std::int64_t seed = 0;
    std::vector<double> weights;
    std::string label;
};

struct outcome {
    double value = 0;
    std::vector<std::int64_t> path;
    std::string label;
    int rank = -1;  // where the body ran
};

// The model, as a plain function: what every result must equal.
double model(const params& p) {
    double x = static_cast<double>(p.seed % 97);
    for (double w : p.weights) x = x * 0.5 + w * static_cast<double>(p.seed % 13 + 1);
    return x;
}
std::vector<std::int64_t> path_of(const params& p) {
    std::vector<std::int64_t> out;
    for (std::int64_t s = p.seed; s > 1 && out.size() < 40; s = s % 2 ? 3 * s + 1 : s / 2)
        out.push_back(s);
    return out;
}

params params_of(int i) {
    params p;
    p.seed = 1000 + 7 * i;
    for (int k = 0; k <= i % 5; ++k) p.weights.push_back(0.25 * (i + k));
    p.label = "run " + std::to_string(i);
    return p;
}

}  // namespace

DESYNC_FN(where, [] { return my_rank; });

DESYNC_FN(
    simulate,
    [](params p) {
        return outcome{model(p), path_of(p), p.label + " done", my_rank};
    },
    desync::distributed);

DESYNC_FN(sweep, [](int n) {
    std::vector<desync::lazy<outcome>> runs;
    for (int i = 0; i < n; ++i) runs.push_back(simulate(params_of(i)));
    std::vector<outcome> out;
    for (auto& r : runs) out.push_back(r.get());
    return out;
});

DESYNC_FN(
    fails,
    [](int k) -> int {
        if (k == 7) throw std::out_of_range("no parameter 7");
        return k;
    },
    desync::distributed);

// Reads the failure of fails(7) inside a body: read there, it is not reported again.
DESYNC_FN(reads_failure, [](int k) {
    try {
        return fails(k).get();
    } catch (const desync::remote_error& e) {
        return e.type_name() == "std::out_of_range" && std::string(e.what()) == "no parameter 7"
                   ? -1
                   : -2;
    } catch (const std::out_of_range&) {
        return -3;  // alone: the body's own exception
    }
});

// A distributed body that makes calls of its own: a plain one and another distributed one.
DESYNC_FN(
    inner_distributed, [](int k) { return k * 1000 + my_rank; }, desync::distributed);
DESYNC_FN(
    nested,
    [](int k) {
        auto here = where();
        auto inner = inner_distributed(k);
        return std::vector<int>{my_rank, here.get(), inner.get() % 1000, inner.get() / 1000};
    },
    desync::distributed);

TEST_CASE("a sweep of 100 distributed calls equals the plain computation, on every worker",
          "[distributed]") {
    const int n = 100;
    auto before = the_cluster->stats();
    std::vector<outcome> out = sweep(n).get();
    REQUIRE(out.size() == static_cast<std::size_t>(n));
    std::set<int> ranks;
    for (int i = 0; i < n; ++i) {
        const outcome& o = out[static_cast<std::size_t>(i)];
        params p = params_of(i);
        CHECK(o.value == model(p));
        CHECK(o.path == path_of(p));
        CHECK(o.label == p.label + " done");
        ranks.insert(o.rank);
    }
    auto after = the_cluster->stats();
    if (the_cluster->size() == 1) {
        CHECK(ranks == std::set<int>{0});
        CHECK(after.calls_sent == 0);
    } else {
        std::set<int> workers;
        for (int r = 1; r < the_cluster->size(); ++r) workers.insert(r);
        CHECK(ranks == workers);  // every worker ran at least one call, rank 0 none
        CHECK(after.calls_sent - before.calls_sent == static_cast<std::uint64_t>(n));
        CHECK(after.calls_failed == before.calls_failed);
    }
}

TEST_CASE("memo hits on rank 0 send nothing, and the replies were recorded there",
          "[distributed]") {
    const int n = 30;
    sweep.clear_cache();
    auto first_before = the_cluster->stats();
    std::vector<outcome> first = sweep(n).get();
    auto first_after = the_cluster->stats();
    CHECK(sweep.get_cache().size() >= static_cast<std::size_t>(n));  // recorded on rank 0
    if (the_cluster->size() > 1)
        CHECK(first_after.calls_sent - first_before.calls_sent == static_cast<std::uint64_t>(n));

    sweep.set_cache(sweep.get_cache());
    std::vector<outcome> second = sweep(n).get();
    auto second_after = the_cluster->stats();
    CHECK(second_after.calls_sent == first_after.calls_sent);  // every call a hit: none sent
    REQUIRE(second.size() == first.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        CHECK(second[i].value == first[i].value);
        CHECK(second[i].path == first[i].path);
        CHECK(second[i].rank == first[i].rank);  // the recorded result, not a new run
    }
    sweep.clear_cache();
}

TEST_CASE("an exception in a distributed body arrives once, as remote_error with type and message",
          "[distributed]") {
    auto before = the_cluster->stats();
    if (the_cluster->size() > 1) {
        auto l = fails(7);
        try {
            l.get();
            FAIL("fails(7) returned");
        } catch (const desync::remote_error& e) {
            CHECK(e.type_name() == "std::out_of_range");
            CHECK(std::string(e.what()) == "no parameter 7");
            CHECK(e.rank() >= 1);
            CHECK(e.rank() < the_cluster->size());
        }
        CHECK(the_cluster->stats().calls_failed - before.calls_failed == 1);
        CHECK(reads_failure(7).get() == -1);  // read in the body: not reported again
        CHECK(the_cluster->stats().calls_failed - before.calls_failed == 2);
    } else {
        CHECK_THROWS_AS(fails(7).get(), std::out_of_range);
        CHECK(reads_failure(7).get() == -3);
    }
    CHECK(fails(3).get() == 3);  // the workers go on serving
}

TEST_CASE("the calls a distributed body makes run where the body runs", "[distributed]") {
    std::vector<int> seen = nested(4).get();
    REQUIRE(seen.size() == 4);
    CHECK(seen[1] == seen[0]);  // a plain desync call: on the body's rank
    CHECK(seen[2] == seen[0]);  // a distributed call made on a worker: there too
    CHECK(seen[3] == 4);
    if (the_cluster->size() > 1)
        CHECK(seen[0] >= 1);
    else
        CHECK(seen[0] == 0);
}

// A job killed half-way, then run again, with a store on rank 0 (mpi:store-killed, then
// mpi:store-rerun, in one directory). The killed job makes 50 of the rerun's 100 calls, each
// durable before its value is ready (sync_every 0ms), and rank 0 exits before the other 50 are
// made; the rerun finds those 50 in the store and sends only the other 50.
namespace {
constexpr const char* killed_store = "killed_sweep.db";
std::vector<outcome> expected_sweep(int n) {
    std::vector<outcome> out;
    for (int i = 0; i < n; ++i) {
        outcome o;
        o.value = model(params_of(i));
        o.path = path_of(params_of(i));
        out.push_back(o);
    }
    return out;
}
}  // namespace

TEST_CASE("a job killed half-way keeps its results in rank 0's store", "[store-killed]") {
    for (const char* end : {"", "-wal", "-shm"})
        std::filesystem::remove(std::string(killed_store) + end);
    desync::sqlite_options o;
    o.sync_every = std::chrono::milliseconds(0);
    desync::sqlite_store store(killed_store, o);
    sweep.set_store(store);
    std::vector<outcome> half = sweep(50).get();
    REQUIRE(half.size() == 50);
    CHECK(store.stats().writes == 50);
    std::fflush(nullptr);
    std::_Exit(7);  // killed before the rest: mpiexec reports exit code 7, which the test expects
}

TEST_CASE("the rerun of a killed job sends only what the store lacks", "[store-rerun]") {
    desync::sqlite_store store(killed_store);
    REQUIRE(store.size() == 50);  // what the killed job made, and nothing more
    sweep.set_store(store);
    auto before = the_cluster->stats();
    std::vector<outcome> all = sweep(100).get();
    auto after = the_cluster->stats();
    sweep.set_store({});
    std::vector<outcome> expected = expected_sweep(100);
    REQUIRE(all.size() == expected.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(all[i].value == expected[i].value);
        CHECK(all[i].path == expected[i].path);
    }
    CHECK(store.stats().hits == 50);
    CHECK(store.stats().writes == 50);
    CHECK(store.size() == 100);
    CHECK(after.calls_sent - before.calls_sent == 50);
    sweep.clear_cache();
}

int main(int argc, char** argv) {
    desync::mpi::options options;
    options.slots = 2;
    desync::mpi::cluster cluster(argc, argv, options);
    the_cluster = &cluster;
    my_rank = cluster.rank();
    if (!cluster.is_root()) return cluster.serve();
    // Every worker announces its slots before the first case, so calls spread over all of them.
    bool announced = poll_until([&] {
        auto s = cluster.stats();
        for (int r = 1; r < cluster.size(); ++r)
            if (s.slots[static_cast<std::size_t>(r)] == 0) return false;
        return true;
    });
    if (!announced) return EXIT_FAILURE;
    return Catch::Session().run(argc, argv);
}
