// Source normalization for version hashes (docs/versions.md).
#include <desync/detail/version/normalize.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "support/catch.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using desync::detail::identifiers;
using desync::detail::source_hash;
using desync::detail::source_tokens;
using sv = std::string_view;
using views = std::vector<std::string_view>;

constexpr bool same(sv a, sv b) { return source_hash("f", a) == source_hash("f", b); }

// Spacing and comments do not count...
static_assert(same("K ;", "K;"));
static_assert(same("a  +b", "a + b"));
static_assert(same("[](int v){return v+1;}", " [ ] ( int  v )\n{\treturn v + 1 ; } "));
static_assert(same("a /* note */ + b // trailing\n;", "a+b;"));
static_assert(same("f(x)/*unterminated", "f(x)"));
static_assert(same("\"a\"\"b\"", "\"a\" \"b\""));  // two literals either way
static_assert(same("1'000+x", "1'000 + x"));
static_assert(same("a->*b<=>c", "a ->* b <=> c"));
// ...every token does.
static_assert(!same("a+b", "a+c"));
static_assert(!same("x+ +y", "x++y"));
static_assert(!same("a - -b", "a --b"));
static_assert(!same("x", "x;"));
static_assert(!same("1'000", "1000"));
static_assert(!same("\"a b\"", "\"a  b\""));  // inside a literal, a space is content
static_assert(!same("' '", "'  '"));
static_assert(!same("u8\"a\"", "u8 \"a\""));  // a prefix is part of its literal
static_assert(!same("R\"(a b)\"", "R\"(a  b)\""));
static_assert(!same("\"a//b\"", "\"a//c\""));  // not a comment inside a literal
static_assert(source_hash("f", "x") != source_hash("g", "x"));
static_assert(source_hash("fx", "") != source_hash("f", "x"));

// A realistic lambda text of more than 20 KB, hashed at compile time with the default limits.
#define DESYNC_TEST_STR2(...) #__VA_ARGS__
#define DESYNC_TEST_STR(...) DESYNC_TEST_STR2(__VA_ARGS__)
#define DESYNC_TEST_BODY                                        \
    [](int value, std::string s) {                              \
        auto t = s + "a \"b\" c" + R"d( raw )" )d";             \
        for (int i = 0; i < 1'000; ++i) value += i * 0x1F >> 2; \
        return value <=> 3 ? t : u8"x";                         \
    }
#define DESYNC_TEST_X4(x) x x x x
#define DESYNC_TEST_X10(x) DESYNC_TEST_X4(x) DESYNC_TEST_X4(x) x x
constexpr sv big_text = DESYNC_TEST_STR(DESYNC_TEST_X10(DESYNC_TEST_X10(DESYNC_TEST_BODY))
                                            DESYNC_TEST_X10(DESYNC_TEST_X4(DESYNC_TEST_BODY)));
static_assert(big_text.size() > 20'000);
using big_hash = std::integral_constant<std::uint64_t, source_hash("big", big_text)>;

// The stream source_hash defines, built by hand at run time and hashed by libxxhash.
std::uint64_t reference_hash(sv name, sv text) {
    std::string stream;
    auto put = [&](sv t) {
        if (t.size() < 255) {
            stream += static_cast<char>(t.size());
        } else {
            stream += static_cast<char>(255);
            for (int k = 0; k < 32; k += 8) stream += static_cast<char>((t.size() >> k) & 0xFF);
        }
        stream += t;
    };
    put(name);
    for (sv t : source_tokens(text)) put(t);
    return XXH64(stream.data(), stream.size(), 0);
}

}  // namespace

TEST_CASE("source_hash is XXH64 of name and tokens, each length-prefixed", "[normalize]") {
    CHECK(source_hash("f", "[](int v) { return v + 1; }") ==
          reference_hash("f", "[](int v) { return v + 1; }"));
    std::string const long_token = "\"" + std::string(300, 'x') + "\"";
    CHECK(source_hash("g", "a = " + long_token + ";") ==
          reference_hash("g", "a = " + long_token + ";"));
    CHECK(big_hash::value == reference_hash("big", big_text));
    CHECK(big_hash::value == source_hash("big", std::string(big_text)));  // the same at run time
}

TEST_CASE("tokens: literals, numbers and punctuators", "[normalize]") {
    CHECK(source_tokens("a+b") == views{"a", "+", "b"});
    CHECK(source_tokens("x+ +y") == views{"x", "+", "+", "y"});
    CHECK(source_tokens("x++y") == views{"x", "++", "y"});
    CHECK(source_tokens("s = \"a \\\" b\" + 'c' + '\\''") ==
          views{"s", "=", "\"a \\\" b\"", "+", "'c'", "+", "'\\''"});
    CHECK(source_tokens("u8\"x y\" L'a' U\"z\" u'b' \"lit\"sv") ==
          views{"u8\"x y\"", "L'a'", "U\"z\"", "u'b'", "\"lit\"sv"});
    CHECK(source_tokens("R\"d(a )\" b)d\" + LR\"(q)\" uR\"(\")\"") ==
          views{"R\"d(a )\" b)d\"", "+", "LR\"(q)\"", "uR\"(\")\""});
    CHECK(source_tokens("1'000 0x1F 1e+5 0x1p-3 .5f 3.14 42_km 1.e-2") ==
          views{"1'000", "0x1F", "1e+5", "0x1p-3", ".5f", "3.14", "42_km", "1.e-2"});
    CHECK(source_tokens("a->*b ... <=> <<= >>= :: ## .* -> %:%: <: :>") ==
          views{"a", "->*", "b", "...", "<=>", "<<=", ">>=", "::", "##", ".*", "->",
                "%:%:", "<:", ":>"});
    CHECK(source_tokens("f<::g> h<:::k") == views{"f", "<", "::", "g", ">", "h", "<:", "::", "k"});
    CHECK(source_tokens("a /* x */ b // y\n c") == views{"a", "b", "c"});
    CHECK(source_tokens("  ") == views{});
    CHECK(source_tokens("\"unterminated") == views{"\"unterminated"});
    CHECK(source_tokens("a @ b") == views{"a", "@", "b"});
}

TEST_CASE("identifiers: distinct, in order, outside literals, keywords dropped", "[normalize]") {
    CHECK(identifiers("inc(alt(v))") == views{"inc", "alt", "v"});
    CHECK(identifiers("ns::inc(x) + inc(y)") == views{"ns", "inc", "x", "y"});
    CHECK(identifiers("[](int value) { return value + 1; }") == views{"value"});
    CHECK(identifiers("f(\"g h\", 'k', 0x1f, 1e5, u8\"z\", R\"(w)\", 10_km)") == views{"f"});
    CHECK(identifiers("auto x = y.z; if (x and not y) return final;") ==
          views{"x", "y", "z", "final"});
    CHECK(identifiers("std::vector<int> v; v.push_back(step(1));") ==
          views{"std", "vector", "v", "push_back", "step"});
    CHECK(identifiers("") == views{});
}
