// Hashing of argument values (docs/hashing.md).
#include <desync/hash.hpp>

// After desync on purpose: a user's own inline xxHash must coexist with desync's.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "support/catch.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <forward_list>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace {

using desync::hash128;
using desync::hash_value;

// The stream a value should produce, built by hand.
struct stream {
    std::string bytes;
    template <class T>
    stream& put(const T& v) {
        bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    stream& put_n(std::uint64_t n) { return put(n); }
    stream& raw(std::string_view s) {
        bytes += s;
        return *this;
    }
    hash128 hash() const {
        XXH128_hash_t const h = XXH3_128bits(bytes.data(), bytes.size());
        return {h.low64, h.high64};
    }
};

std::uint64_t rng_state = 1;
std::uint64_t rng() {
    std::uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    return z ^ (z >> 31);
}

}  // namespace

namespace geo {
struct point {
    int x;
    double y;
    std::string label;
};

// (a) N3980 style: only the coordinates make the value; the cache is not part of it.
class shape {
public:
    shape(int sides, std::string name) : sides_(sides), name_(std::move(name)) {}
    template <class H>
    friend void hash_append(H& h, const shape& s) {
        desync::hash_append(h, s.sides_);
        desync::hash_append(h, s.name_);
    }
    mutable int cache = 0;

private:
    int sides_;
    std::string name_;
};

// (b) desync_fields: the members that make up the value.
class circle {
public:
    circle() = default;
    circle(double r, std::string tag) : r_(r), tag_(std::move(tag)) {}
    friend auto desync_fields(const circle& c) { return std::tie(c.r_, c.tag_); }
    friend auto desync_fields(circle& c) { return std::tie(c.r_, c.tag_); }
    const int* scratch = nullptr;  // not part of the value: desync_fields leaves it out

private:
    double r_ = 0;
    std::string tag_;
};

// An aggregate with desync_fields: the customization wins over PFR (which would see the pointer).
struct labelled {
    int id;
    const char* debug_name;
};
inline auto desync_fields(const labelled& l) { return std::tie(l.id); }

// Both customizations: hash_append wins.
struct both {
    int a;
    int b;
};
inline auto desync_fields(const both& v) { return std::tie(v.a, v.b); }
template <class H>
void hash_append(H& h, const both& v) {
    desync::hash_append(h, v.a);
}

// A recursive type is fine with its own hash_append.
struct tree {
    int value;
    std::vector<tree> kids;
};
template <class H>
void hash_append(H& h, const tree& t) {
    desync::hash_append(h, t.value);
    desync::hash_append(h, t.kids);
}
}  // namespace geo

namespace {

struct with_pointer {
    int a;
    int* p;
};
struct with_unique {
    std::unique_ptr<int> p;
};
struct nested {
    geo::point p;
    std::vector<geo::point> more;
    std::optional<std::map<std::string, int>> extra;
};
struct node {
    int v;
    std::vector<node> kids;
};
struct base {
    int b;
};
struct derived : base {
    int d;
};
struct with_array {
    int xs[3];
    double d;
};
struct with_ref {
    const int& r;
};
struct with_time {
    std::chrono::system_clock::time_point when;
    std::chrono::milliseconds timeout;
    std::unique_ptr<int> owned;
};
struct empty_aggregate {};
struct with_std_array {
    std::array<int, 3> xs;
    std::chrono::system_clock::time_point when;
};
struct holds_unreflectable {
    int a;
    with_array inner;
};
class opaque {
    int hidden = 0;

public:
    int get() const { return hidden; }
};
union number {
    int i;
    float f;
};
enum class colour : std::uint8_t { red = 1, green = 2 };

// Throws when moved: a variant holding it can become valueless.
struct fragile {
    int v = 0;
    fragile() = default;
    fragile(const fragile&) = default;
    fragile(fragile&&) { throw std::runtime_error("moved"); }
    fragile& operator=(const fragile&) = default;
};
template <class H>
void hash_append(H& h, const fragile& f) {
    desync::hash_append(h, f.v);
}
enum plain { plain_a = 7 };

}  // namespace

using desync::detail::hash_check;
using desync::detail::verdict;

// The concept: true cases...
static_assert(desync::hashable<int>);
static_assert(desync::hashable<const std::string&>);
static_assert(desync::hashable<std::string_view>);
static_assert(desync::hashable<std::span<const int>>);
static_assert(
    desync::hashable<std::vector<std::map<std::string, std::optional<std::variant<int, double>>>>>);
static_assert(desync::hashable<std::unordered_map<std::string, std::vector<colour>>>);
static_assert(desync::hashable<std::tuple<int, std::pair<char, long double>, std::monostate>>);
static_assert(desync::hashable<std::chrono::seconds>);
static_assert(desync::hashable<std::chrono::steady_clock::time_point>);
static_assert(desync::hashable<geo::point>);
static_assert(desync::hashable<nested>);
static_assert(desync::hashable<geo::shape>);
static_assert(desync::hashable<geo::circle>);
static_assert(desync::hashable<geo::labelled>);
static_assert(desync::hashable<geo::tree>);
static_assert(desync::hashable<empty_aggregate>);
static_assert(desync::hashable<int[4]>);
static_assert(desync::hashable<plain>);
static_assert(desync::hashable<with_ref>);  // hashes the value referred to
// ...false cases, each with its reason.
static_assert(!desync::hashable<int*>);
static_assert(!desync::hashable<const char*>);
static_assert(!desync::hashable<std::nullptr_t>);
static_assert(!desync::hashable<void (*)()>);
static_assert(!desync::hashable<int geo::point::*>);
static_assert(!desync::hashable<std::reference_wrapper<int>>);
static_assert(!desync::hashable<std::shared_ptr<int>>);
static_assert(!desync::hashable<std::vector<int*>>);
static_assert(!desync::hashable<with_pointer>);
static_assert(!desync::hashable<with_unique>);
static_assert(!desync::hashable<with_time>);
static_assert(!desync::hashable<std::optional<std::tuple<int, const char*>>>);
static_assert(!desync::hashable<opaque>);
static_assert(!desync::hashable<number>);
static_assert(!desync::hashable<std::mutex>);
static_assert(!desync::hashable<node>);
static_assert(!desync::hashable<derived>);
static_assert(!desync::hashable<with_array>);
static_assert(!desync::hashable<void>);
static_assert(hash_check<with_pointer>::value == verdict::pointer);
static_assert(hash_check<with_time>::value == verdict::pointer);
static_assert(hash_check<std::map<int, std::weak_ptr<int>>>::value == verdict::pointer);
static_assert(hash_check<opaque>::value == verdict::none);
static_assert(hash_check<node>::value == verdict::recursive);
static_assert(hash_check<derived>::value == verdict::unreflectable);
static_assert(hash_check<with_array>::value == verdict::unreflectable);
static_assert(hash_check<holds_unreflectable>::value == verdict::unreflectable);
static_assert(desync::hashable<with_std_array>);

// Type identity.
static_assert(desync::type_name<int>() == "int");
static_assert(desync::type_name<geo::point>() == "geo::point");
static_assert(desync::type_id<int>() == desync::xxh3_64("int"));
static_assert(desync::type_id<int>() != desync::type_id<long>());
static_assert(desync::type_id<std::vector<int>>() != desync::type_id<std::vector<unsigned>>());

TEST_CASE("hasher: the digest is XXH3-128 of the concatenated writes, short and long", "[hash]") {
    std::vector<unsigned char> data(20000);
    for (auto& b : data) b = static_cast<unsigned char>(rng());
    for (std::size_t total : {0, 1, 100, 511, 512, 513, 1000, 4096, 20000}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
            desync::hasher h;
            std::size_t at = 0;
            while (at < total) {
                std::size_t const limit = pattern == 0   ? 7
                                          : pattern == 1 ? 300
                                          : pattern == 2 ? 2000
                                                         : total;
                std::size_t const n = std::min(total - at, 1 + rng() % limit);
                h.write(data.data() + at, n);
                at += n;
                if (pattern == 1 && at < total) {  // digest midway, then go on
                    CHECK(h.digest() == desync::detail::xxh3_128_runtime(data.data(), at));
                }
            }
            CHECK(h.digest() == desync::detail::xxh3_128_runtime(data.data(), total));
            CHECK(h.digest() ==
                  desync::detail::xxh3_128_runtime(data.data(), total));  // digest is repeatable
        }
    }
}

TEST_CASE("scalars: bytes of the value, floats by bit pattern", "[hash]") {
    CHECK(hash_value(true) == stream{}.raw("\1").hash());
    CHECK(hash_value(false) == stream{}.raw(std::string_view("\0", 1)).hash());
    CHECK(hash_value(std::int32_t{5}) == stream{}.put(std::int32_t{5}).hash());
    CHECK(hash_value(std::uint64_t{5}) == stream{}.put(std::uint64_t{5}).hash());
    CHECK(hash_value('a') == stream{}.raw("a").hash());
    CHECK(hash_value(u8'a') == stream{}.raw("a").hash());
    CHECK(hash_value(U'a') == stream{}.put(char32_t{'a'}).hash());
    CHECK(hash_value(L'a') == stream{}.put(L'a').hash());
    CHECK(hash_value(1.5) == stream{}.put(1.5).hash());
    CHECK(hash_value(1.5f) == stream{}.put(1.5f).hash());
    CHECK(hash_value(0.0) != hash_value(-0.0));
    double const nan1 = std::numeric_limits<double>::quiet_NaN();
    double nan2 = nan1;
    std::uint64_t bits;
    std::memcpy(&bits, &nan2, 8);
    bits ^= 1;
    std::memcpy(&nan2, &bits, 8);
    CHECK(std::isnan(nan2));
    CHECK(hash_value(nan1) == hash_value(nan1));
    CHECK(hash_value(nan1) != hash_value(nan2));
    CHECK(hash_value(colour::green) == hash_value(std::uint8_t{2}));
    CHECK(hash_value(plain_a) == hash_value(static_cast<std::underlying_type_t<plain>>(7)));
    // hash_value does not include types: the memo key adds them.
    CHECK(hash_value(std::uint32_t{1}) == hash_value(std::int32_t{1}));
}

TEST_CASE("long double: the value's bytes, not its padding", "[hash]") {
    long double a, b;
    std::memset(&a, 0x00, sizeof a);
    std::memset(&b, 0xFF, sizeof b);
    a = 1.25L;
    b = 1.25L;
    CHECK(hash_value(a) == hash_value(b));
    CHECK(hash_value(a) != hash_value(1.5L));
}

TEST_CASE("strings and ranges: length first, contiguous ones in one write", "[hash]") {
    stream abc;
    abc.put_n(3).put_n(1).raw("abc");  // count, element size, bytes
    CHECK(hash_value(std::string("abc")) == abc.hash());
    CHECK(hash_value(std::string_view("abc")) == abc.hash());
    CHECK(hash_value(std::vector<char>{'a', 'b', 'c'}) == abc.hash());
    // A char array: all of it, NUL included.
    CHECK(hash_value("abc") == stream{}.put_n(4).put_n(1).raw(std::string_view("abc\0", 4)).hash());
    CHECK(hash_value(std::vector<std::string>{"ab", "c"}) !=
          hash_value(std::vector<std::string>{"a", "bc"}));
    CHECK(hash_value(std::string("ab"), std::string("c")) !=
          hash_value(std::string("a"), std::string("bc")));
    CHECK(hash_value(std::vector<std::vector<int>>{{1}, {}}) !=
          hash_value(std::vector<std::vector<int>>{{}, {1}}));

    std::vector<int> const v{1, 2, 3};
    stream s;
    s.put_n(3).put_n(sizeof(int)).put(1).put(2).put(3);
    CHECK(hash_value(v) == s.hash());                        // one write
    CHECK(hash_value(std::list<int>{1, 2, 3}) == s.hash());  // element by element, same bytes
    CHECK(hash_value(std::deque<int>{1, 2, 3}) == s.hash());
    CHECK(hash_value(std::forward_list<int>{1, 2, 3}) == s.hash());  // not sized: counted first
    CHECK(hash_value(std::array<int, 3>{1, 2, 3}) == s.hash());
    int const c_array[3] = {1, 2, 3};
    CHECK(hash_value(c_array) == s.hash());
    CHECK(hash_value(std::span<const int>(v)) == s.hash());
    CHECK(hash_value(std::set<int>{3, 1, 2}) == s.hash());
    CHECK(hash_value(std::vector<bool>{true, false}) ==
          hash_value(std::array<bool, 2>{true, false}));

    std::vector<double> big(100000);
    for (auto& d : big) d = static_cast<double>(rng() % 1000) / 7;
    stream b;
    b.put_n(big.size())
        .put_n(sizeof(double))
        .raw({reinterpret_cast<const char*>(big.data()), big.size() * sizeof(double)});
    CHECK(hash_value(big) == b.hash());
    CHECK(hash_value(std::vector<double>{}) == stream{}.put_n(0).put_n(8).hash());

    std::map<std::string, int> const m{{"b", 2}, {"a", 1}};
    stream ms;
    ms.put_n(2).put_n(1).put_n(1).raw("a").put(1).put_n(1).put_n(1).raw("b").put(2);
    CHECK(hash_value(m) == ms.hash());
    // The element size is part of it: the same bytes in other widths differ.
    CHECK(hash_value(std::vector<std::int16_t>{1, 0}) != hash_value(std::vector<std::int32_t>{1}));
}

TEST_CASE("unordered containers: independent of iteration order, multiplicity counts", "[hash]") {
    std::unordered_set<int> a, b;
    for (int i = 0; i < 1000; ++i) a.insert(i);
    b.reserve(5000);
    for (int i = 999; i >= 0; --i) b.insert(i);
    REQUIRE(a == b);
    CHECK(hash_value(a) == hash_value(b));
    b.erase(5);
    CHECK(hash_value(a) != hash_value(b));

    std::unordered_map<std::string, int> m1{{"x", 1}, {"y", 2}, {"z", 3}}, m2;
    m2.rehash(64);
    m2.insert({{"z", 3}, {"y", 2}, {"x", 1}});
    CHECK(hash_value(m1) == hash_value(m2));
    m2["x"] = 4;
    CHECK(hash_value(m1) != hash_value(m2));
    CHECK(hash_value(std::unordered_map<int, int>{{1, 2}}) !=
          hash_value(std::unordered_map<int, int>{{2, 1}}));

    using ms = std::unordered_multiset<int>;
    CHECK(hash_value(ms{1, 1, 2}) != hash_value(ms{1, 2, 2}));
    CHECK(hash_value(ms{1, 1, 2}) != hash_value(ms{1, 2}));
    CHECK(hash_value(ms{1, 1}) != hash_value(ms{}));
    CHECK(hash_value(ms{2, 1, 1}) == hash_value(ms{1, 2, 1}));
}

TEST_CASE("pair, tuple, optional, variant, monostate, chrono", "[hash]") {
    CHECK(hash_value(std::pair{1, 2.5}) == hash_value(std::tuple{1, 2.5}));
    CHECK(hash_value(std::pair{1, 2.5}) == hash_value(1, 2.5));
    CHECK(hash_value(std::tuple<>{}) == hash_value());

    CHECK(hash_value(std::optional<int>{}) == stream{}.raw(std::string_view("\0", 1)).hash());
    CHECK(hash_value(std::optional<int>{7}) == stream{}.raw("\1").put(7).hash());
    CHECK(hash_value(std::optional<int>{0}) != hash_value(std::optional<int>{}));

    using v = std::variant<int, unsigned, std::monostate>;
    CHECK(hash_value(v{1}) == stream{}.put_n(0).put(1).hash());
    CHECK(hash_value(v{1u}) == stream{}.put_n(1).put(1u).hash());
    CHECK(hash_value(v{1}) != hash_value(v{1u}));
    CHECK(hash_value(v{std::monostate{}}) == stream{}.put_n(2).hash());
    CHECK(hash_value(std::monostate{}) == hash_value());

    std::variant<int, fragile> valueless{1};
    try {
        valueless.emplace<1>(fragile{});
    } catch (const std::runtime_error&) {
    }
    REQUIRE(valueless.valueless_by_exception());
    CHECK(hash_value(valueless) ==
          stream{}.put_n(static_cast<std::uint64_t>(std::variant_npos)).hash());
    CHECK(hash_value(std::variant<int, fragile>{std::in_place_index<1>}) ==
          stream{}.put_n(1).put(0).hash());

    using namespace std::chrono_literals;
    CHECK(hash_value(1s) != hash_value(1000ms));
    CHECK(hash_value(1s) == stream{}
                                .put(std::chrono::seconds::rep{1})
                                .put(std::intmax_t{1})
                                .put(std::intmax_t{1})
                                .hash());
    CHECK(hash_value(std::chrono::seconds(2)) ==
          hash_value(std::chrono::duration<std::chrono::seconds::rep>(2)));
    std::chrono::sys_seconds const t{std::chrono::seconds(1700000000)};
    CHECK(hash_value(t) == hash_value(std::chrono::seconds(1700000000)));
}

TEST_CASE("aggregates through Boost.PFR, field by field", "[hash]") {
    geo::point const p{1, 2.5, "p"};
    CHECK(hash_value(p) == hash_value(1, 2.5, std::string("p")));
    CHECK(hash_value(p) != hash_value(geo::point{1, 2.5, "q"}));
    nested const n{p, {p, p}, std::map<std::string, int>{{"k", 1}}};
    CHECK(hash_value(n) == hash_value(p, std::vector<geo::point>{p, p},
                                      std::optional{std::map<std::string, int>{{"k", 1}}}));
    CHECK(hash_value(empty_aggregate{}) == hash_value());
    int const seven = 7;
    CHECK(hash_value(with_ref{seven}) == hash_value(7));
}

TEST_CASE("customization points: hash_append, then desync_fields, then PFR", "[hash]") {
    geo::shape s1(3, "tri"), s2(3, "tri");
    s2.cache = 42;
    CHECK(hash_value(s1) == hash_value(s2));
    CHECK(hash_value(s1) == hash_value(3, std::string("tri")));
    CHECK(hash_value(s1) != hash_value(geo::shape(4, "tri")));

    int dummy = 0;
    geo::circle c1(1.5, "c"), c2(1.5, "c");
    c2.scratch = &dummy;
    CHECK(hash_value(c1) == hash_value(c2));
    CHECK(hash_value(c1) == hash_value(1.5, std::string("c")));

    CHECK(hash_value(geo::labelled{7, "seven"}) == hash_value(7));
    CHECK(hash_value(geo::both{1, 2}) == hash_value(1));  // hash_append wins over desync_fields

    geo::tree const t{1, {{2, {}}, {3, {{4, {}}}}}};
    CHECK(hash_value(t) == hash_value(geo::tree{1, {{2, {}}, {3, {{4, {}}}}}}));
    CHECK(hash_value(t) != hash_value(geo::tree{1, {{2, {}}, {3, {{5, {}}}}}}));
    CHECK(hash_value(std::vector<geo::shape>{s1}) ==
          hash_value(std::vector<std::tuple<int, std::string>>{{3, "tri"}}));
}

TEST_CASE("type_id: stable, distinct, the same at compile time and run time", "[hash]") {
    constexpr std::uint64_t at_compile_time = desync::type_id<std::map<std::string, geo::point>>();
    std::uint64_t const at_run_time = desync::type_id<std::map<std::string, geo::point>>();
    CHECK(at_compile_time == at_run_time);
    std::set<std::uint64_t> const ids{desync::type_id<int>(),
                                      desync::type_id<unsigned>(),
                                      desync::type_id<long>(),
                                      desync::type_id<char>(),
                                      desync::type_id<signed char>(),
                                      desync::type_id<unsigned char>(),
                                      desync::type_id<float>(),
                                      desync::type_id<double>(),
                                      desync::type_id<std::string>(),
                                      desync::type_id<std::string_view>(),
                                      desync::type_id<geo::point>(),
                                      desync::type_id<geo::shape>(),
                                      desync::type_id<std::vector<int>>(),
                                      desync::type_id<std::vector<long>>(),
                                      desync::type_id<const int>(),
                                      desync::type_id<int&>()};
    CHECK(ids.size() == 16);
    CHECK(desync::type_name<std::vector<int>>().find("vector") != std::string_view::npos);
}
