// Versions within one build: text round trip, refusal of malformed text, the numbering rules,
// what a body's text makes it depend on. (Changes across builds: tests/variants.)

#include <desync/desync.hpp>

#include "support/catch.hpp"

#include <sstream>
#include <string>

DESYNC_FN(inc, [](int value) { return value + 1; });
DESYNC_FN(step, [](int value) { return inc(value); });
DESYNC_FN(lonely, [](int value) { return value; });

namespace one {
DESYNC_FN(shared_name, [](int v) { return v + 1; });
}
namespace two {
DESYNC_FN(shared_name, [](int v) { return v + 2; });
}
DESYNC_FN(uses_shared_name, [](int v) { return one::shared_name(v); });

DESYNC_DECLARE(countdown, int(int));
DESYNC_DEFINE(countdown, [](int n) -> int { return n == 0 ? 0 : countdown(n - 1).get(); });

TEST_CASE("the seed's version is 1.0 and its minor hash is its callee's full hash", "[versions]") {
    desync::version v = step.get_version();
    REQUIRE(desync::to_string(v) == "1.0");
    REQUIRE(v.minor_hash.size() == 1);
    REQUIRE(v.minor_hash[0] == desync::detail::full_hash(inc.core()));
    REQUIRE(lonely.get_version().minor_hash.empty());
    REQUIRE(v.major_hash != inc.get_version().major_hash);
}

TEST_CASE("a version round-trips through text, all four fields", "[versions][io]") {
    desync::version v{0x0123456789abcdefull, {1, 0xffffffffffffffffull}, 3, 7};
    std::stringstream text;
    text << v;
    REQUIRE(text.str() == "0123456789abcdef\n0000000000000001,ffffffffffffffff\n3\n7\n");
    desync::version back;
    REQUIRE(text >> back);
    REQUIRE(back == v);
    desync::version none{42, {}, 1, 0};
    std::stringstream empty_minor;
    empty_minor << none;
    desync::version back2;
    REQUIRE(empty_minor >> back2);
    REQUIRE(back2 == none);
}

TEST_CASE("malformed version text sets failbit and invents nothing", "[versions][io]") {
    const char* bad[] = {
        "",                                             // nothing
        "0123456789abcdef\n\n1\n",                      // a line missing
        "0123456789abcdeg\n\n1\n0\n",                   // not hex
        "0123456789abcde\n\n1\n0\n",                    // too short
        "0123456789abcdef\n01,02\n1\n0\n",              // minor hashes not 16 digits
        "0123456789abcdef\n\n0\n0\n",                   // major number 0
        "0123456789abcdef\n\n1\n-1\n",                  // negative minor number
        "0123456789abcdef\n\n1x\n0\n",                  // trailing garbage
        "0123456789abcdef\n0000000000000001,\n1\n0\n",  // dangling comma
    };
    for (const char* text : bad) {
        std::istringstream in(text);
        desync::version v{7, {8}, 9, 10};
        const desync::version before = v;
        in >> v;
        INFO("text: " << text);
        REQUIRE(in.fail());
        REQUIRE(v == before);
    }
}

TEST_CASE("set_version numbers the current version relative to an old one", "[versions]") {
    desync::version now{1, {2, 3}, 1, 0};
    REQUIRE(desync::to_string(desync::renumber(now, {1, {2, 3}, 4, 5})) == "4.5");
    REQUIRE(desync::to_string(desync::renumber(now, {1, {2, 9}, 4, 5})) == "4.6");
    REQUIRE(desync::to_string(desync::renumber(now, {9, {2, 3}, 4, 5})) == "5.0");
    REQUIRE(desync::to_string(desync::renumber(now, {1, {2}, 4, 5})) == "4.6");  // a callee gone
}

TEST_CASE("set_version on a function uses its current hashes", "[versions]") {
    desync::version old = step.get_version();
    old.major_version = 3;
    old.minor_version = 4;
    step.set_version(old);
    REQUIRE(desync::to_string(step.get_version()) == "3.4");
    old.minor_hash[0] ^= 1;  // as if a callee had changed since
    step.set_version(old);
    REQUIRE(desync::to_string(step.get_version()) == "3.5");
    old.major_hash ^= 1;  // as if its own source had changed since
    step.set_version(old);
    REQUIRE(desync::to_string(step.get_version()) == "4.0");
}

TEST_CASE("a name defined in several namespaces makes the body depend on all of them",
          "[versions]") {
    auto v = uses_shared_name.get_version();
    REQUIRE(v.minor_hash.size() == 2);
    auto h1 = desync::detail::full_hash(one::shared_name.core());
    auto h2 = desync::detail::full_hash(two::shared_name.core());
    REQUIRE(h1 != h2);
    REQUIRE(((v.minor_hash[0] == h1 && v.minor_hash[1] == h2) ||
             (v.minor_hash[0] == h2 && v.minor_hash[1] == h1)));
}

TEST_CASE("a recursive function has a stable version that includes itself", "[versions]") {
    auto v = countdown.get_version();
    REQUIRE(v.minor_hash.size() == 1);
    REQUIRE(v.minor_hash[0] == desync::detail::full_hash(countdown.core()));
    REQUIRE(countdown.get_version() == v);
    REQUIRE(countdown(50).get() == 0);
}

TEST_CASE("source normalization: spacing does not count, tokens do", "[versions]") {
    using desync::detail::source_hash;
    static_assert(source_hash("f", "[](int v) { return v + 1; }") ==
                  source_hash("f", "[ ] ( int v ){return v+1 ;}"));
    static_assert(source_hash("f", "[](int v) { return v + 1; }") !=
                  source_hash("f", "[](int v) { return v + 2; }"));
    static_assert(source_hash("f", "[](int v) { return v; }") !=
                  source_hash("g", "[](int v) { return v; }"));
    SUCCEED();
}
