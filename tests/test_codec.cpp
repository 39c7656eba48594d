// The value codec of the cache file: round trips, and untrusted input that never crashes.
#include <desync/codec.hpp>
#include <desync/hash.hpp>

#include "support/catch.hpp"

#include <algorithm>
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
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace {

using desync::detail::decode;
using desync::detail::encode;
using desync::detail::encoded_size;
using desync::detail::is_encodable_v;

enum class colour : std::uint8_t { red = 1, green = 2 };

struct point {
    int x = 0;
    double y = 0;
    std::string label;
    bool operator==(const point&) const = default;
};
struct record {
    point where;
    std::vector<point> path;
    std::optional<std::map<std::string, std::vector<int>>> tags;
    std::variant<std::monostate, int, std::string> extra;
    std::array<bool, 3> flags{};
    colour c = colour::red;
    bool operator==(const record&) const = default;
};
struct empty_aggregate {
    bool operator==(const empty_aggregate&) const = default;
};

class account {
public:
    account() = default;
    account(std::string owner, long long cents) : owner_(std::move(owner)), cents_(cents) {}
    friend auto desync_fields(const account& a) { return std::tie(a.owner_, a.cents_); }
    friend auto desync_fields(account& a) { return std::tie(a.owner_, a.cents_); }
    bool operator==(const account&) const = default;

private:
    std::string owner_;
    long long cents_ = 0;
};

// Only hashable: its hash_append does not say how to rebuild it.
struct opaque_total {
    int total = 0;
};
template <class H>
void hash_append(H& h, const opaque_total& t) {
    desync::hash_append(h, t.total);
}

// A const overload only: decoding has nothing to write through.
struct read_only_fields {
    int v = 0;
};
inline auto desync_fields(const read_only_fields& r) { return std::tie(r.v); }

struct with_const {
    const int c = 0;
};
struct needs_arg {
    explicit needs_arg(int) {}
};
struct node {
    int v = 0;
    std::vector<node> kids;
};

std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

template <class T>
std::string encoded(const T& v) {
    std::string out;
    encode(out, v);
    return out;
}

// Encodes, checks the size, decodes into a fresh T (and into a used one), re-encodes.
template <class T>
void round_trip(const T& v) {
    std::string const bytes = encoded(v);
    CHECK(encoded_size(v) == bytes.size());
    T fresh{};
    REQUIRE(decode(bytes_of(bytes), fresh));
    CHECK(encoded(fresh) == bytes);
    if constexpr (std::equality_comparable<T>) CHECK(fresh == v);
    T reused = v;  // decoding replaces what was there
    REQUIRE(decode(bytes_of(bytes), reused));
    CHECK(encoded(reused) == bytes);
    std::string appended = "prefix";
    encode(appended, v);
    CHECK(appended == "prefix" + bytes);
}

// Every truncation fails; an extra byte fails; every single-bit flip either fails or decodes to
// a value that re-encodes to the flipped bytes.
template <class T>
void fuzz(const T& v) {
    std::string const bytes = encoded(v);
    std::size_t decoded_truncations = 0, bad_flips = 0, accepted_flips = 0;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        T out{};
        decoded_truncations += decode(bytes_of(bytes).first(n), out);
    }
    T out{};
    CHECK_FALSE(decode(bytes_of(bytes + '\0'), out));
    for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
        std::string flipped = bytes;
        flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
        T got{};
        if (decode(bytes_of(flipped), got)) {
            ++accepted_flips;
            bad_flips += encoded(got) != flipped;
        }
    }
    CHECK(decoded_truncations == 0);
    CHECK(bad_flips == 0);
    (void)accepted_flips;
}

template <class T>
bool decodes(const std::string& bytes) {
    T out{};
    return decode(bytes_of(bytes), out);
}

std::string u64(std::uint64_t n) {
    return std::string(reinterpret_cast<const char*>(&n), sizeof n);
}

record sample_record() {
    return record{{1, 2.5, "start"},
                  {{2, -0.0, "a"}, {3, 1e300, ""}},
                  std::map<std::string, std::vector<int>>{{"k", {1, 2}}, {"l", {}}},
                  std::string("extra"),
                  {true, false, true},
                  colour::green};
}

}  // namespace

// What can be saved, and what cannot.
static_assert(is_encodable_v<int> && is_encodable_v<std::string> && is_encodable_v<record>);
static_assert(is_encodable_v<std::map<std::string, std::unordered_set<int>>>);
static_assert(is_encodable_v<std::forward_list<std::pair<int, std::string>>>);
static_assert(is_encodable_v<account> && is_encodable_v<empty_aggregate> && is_encodable_v<int[3]>);
static_assert(is_encodable_v<std::chrono::system_clock::time_point>);
static_assert(!is_encodable_v<std::string_view>);  // hashable views are not encodable
static_assert(!is_encodable_v<std::span<const int>>);
static_assert(!is_encodable_v<opaque_total>);  // hash_append only
static_assert(desync::hashable<opaque_total> && desync::hashable<std::string_view>);
static_assert(!is_encodable_v<read_only_fields>);
static_assert(!is_encodable_v<with_const>);
static_assert(!is_encodable_v<needs_arg>);
static_assert(!is_encodable_v<std::optional<needs_arg>>);
static_assert(!is_encodable_v<node>);  // recursive: depth would depend on the data
static_assert(!is_encodable_v<int*>);
static_assert(!is_encodable_v<std::vector<const char*>>);
static_assert(!is_encodable_v<std::pair<int, std::string_view>>);
static_assert(desync::detail::min_encoded_size<std::monostate>() == 1);
static_assert(desync::detail::min_encoded_size<std::tuple<>>() == 1);
static_assert(desync::detail::min_encoded_size<std::array<int, 0>>() == 1);
static_assert(desync::detail::min_encoded_size<std::variant<std::monostate, double>>() == 9);
static_assert(desync::detail::min_encoded_size<point>() == 4 + 8 + 8);

TEST_CASE("round trips: scalars", "[codec]") {
    round_trip(true);
    round_trip(false);
    round_trip(std::int8_t{-5});
    round_trip(std::uint64_t{0xFFFFFFFFFFFFFFFFULL});
    round_trip('x');
    round_trip(u8'y');
    round_trip(U'\U0001F600');
    round_trip(L'w');
    round_trip(colour::green);
    round_trip(1.5f);
    round_trip(-0.0);
    CHECK(encoded(-0.0) != encoded(0.0));
    double nan = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t bits;
    std::memcpy(&bits, &nan, 8);
    bits ^= 0x5;
    std::memcpy(&nan, &bits, 8);
    std::string const nan_bytes = encoded(nan);
    double back = 0;
    REQUIRE(decode(bytes_of(nan_bytes), back));
    CHECK(encoded(back) == nan_bytes);  // the payload survives
    round_trip(3.25L);
    CHECK(encoded(3.25L).size() == desync::detail::long_double_value_size<long double>);
}

TEST_CASE("round trips: strings and containers", "[codec]") {
    round_trip(std::string{});
    round_trip(std::string("hello\0world", 11));
    round_trip(std::u16string(u"h\u00e9"));
    round_trip(std::vector<int>{1, -2, 3});
    round_trip(std::vector<double>{});
    round_trip(std::vector<std::string>{"ab", "", "c"});
    round_trip(std::vector<bool>{true, false, true});
    round_trip(std::vector<colour>{colour::red, colour::green});
    round_trip(std::deque<short>{1, 2});
    round_trip(std::list<std::string>{"x", "y"});
    round_trip(std::forward_list<int>{3, 2, 1});
    round_trip(std::set<std::string>{"b", "a", "c"});
    round_trip(std::multiset<int>{1, 1, 2});
    round_trip(std::map<int, std::string>{{2, "two"}, {1, "one"}});
    round_trip(std::multimap<int, int>{{1, 1}, {1, 2}, {0, 5}});
    round_trip(std::array<int, 3>{4, 5, 6});
    round_trip(std::array<std::string, 2>{"p", "q"});
    round_trip(std::array<int, 0>{});
    round_trip(std::vector<std::vector<std::monostate>>{{{}, {}}, {}});
    int const c_array[3] = {7, 8, 9};
    std::string const bytes = encoded(c_array);
    int back[3] = {};
    REQUIRE(decode(bytes_of(bytes), back));
    CHECK((back[0] == 7 && back[1] == 8 && back[2] == 9));
}

TEST_CASE("round trips: unordered containers encode in a canonical order", "[codec]") {
    std::unordered_set<int> a, b;
    for (int i = 0; i < 200; ++i) a.insert(i * 7919 % 1000);
    b.reserve(4096);
    for (int i = 199; i >= 0; --i) b.insert(i * 7919 % 1000);
    CHECK(encoded(a) == encoded(b));
    round_trip(a);
    round_trip(
        std::unordered_map<std::string, std::vector<int>>{{"x", {1}}, {"y", {}}, {"z", {2, 3}}});
    round_trip(std::unordered_multiset<std::string>{"a", "b", "a"});
    round_trip(std::unordered_multimap<int, int>{{1, 1}, {1, 1}, {2, 0}});
}

TEST_CASE("round trips: pair, tuple, optional, variant, chrono, aggregates, desync_fields",
          "[codec]") {
    round_trip(std::pair<int, std::string>{1, "one"});
    round_trip(std::tuple<int, double, std::string>{1, 2.0, "3"});
    round_trip(std::tuple<>{});
    round_trip(std::optional<std::string>{});
    round_trip(std::optional<std::string>{"set"});
    round_trip(std::variant<int, std::string, std::monostate>{std::string("s")});
    round_trip(std::variant<int, std::string, std::monostate>{std::monostate{}});
    round_trip(std::monostate{});
    round_trip(std::chrono::milliseconds(1234));
    round_trip(std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
    round_trip(point{1, 2.0, "p"});
    round_trip(sample_record());
    round_trip(empty_aggregate{});
    round_trip(account("ann", 1050));
    round_trip(std::vector<account>{{"a", 1}, {"b", 2}});
    round_trip(std::map<std::string, record>{{"r", sample_record()}});
}

TEST_CASE("rejections: malformed values of each kind", "[codec]") {
    CHECK_FALSE(decodes<bool>("\2"));
    CHECK_FALSE(decodes<bool>(""));
    CHECK_FALSE(decodes<int>("abc"));
    CHECK_FALSE(decodes<int>("abcde"));
    CHECK_FALSE(decodes<std::monostate>("\1"));
    CHECK_FALSE(decodes<std::tuple<>>("\1"));
    CHECK_FALSE(decodes<std::optional<int>>(std::string("\2", 1) + "abcd"));
    CHECK(decodes<std::optional<int>>(std::string("\1", 1) + "abcd"));
    CHECK_FALSE(decodes<std::variant<int, char>>(u64(2) + "a"));
    CHECK_FALSE(decodes<std::variant<int, char>>(u64(std::variant_npos) + "a"));
    CHECK(decodes<std::variant<int, char>>(u64(1) + "a"));
    CHECK_FALSE(decodes<std::string>(u64(4) + "abc"));
    CHECK_FALSE(decodes<std::set<int>>(encoded(std::vector<int>{2, 1})));  // out of order
    CHECK_FALSE(decodes<std::set<int>>(encoded(std::vector<int>{1, 1})));  // duplicate
    CHECK(decodes<std::multiset<int>>(encoded(std::vector<int>{1, 1})));
    CHECK_FALSE(decodes<std::multiset<int>>(encoded(std::vector<int>{2, 1})));
    CHECK_FALSE(
        decodes<std::map<int, int>>(encoded(std::vector<std::pair<int, int>>{{1, 1}, {1, 2}})));
    std::string const canonical = encoded(std::unordered_set<int>{1, 2});
    std::string swapped = canonical;
    std::swap_ranges(swapped.begin() + 8, swapped.begin() + 12, swapped.begin() + 12);
    CHECK(decodes<std::unordered_set<int>>(canonical));
    CHECK_FALSE(decodes<std::unordered_set<int>>(swapped));  // not in canonical order
    CHECK_FALSE(decodes<std::unordered_set<int>>(encoded(std::vector<int>{1, 1})));
    CHECK_FALSE(decodes<std::array<bool, 2>>("\1\3"));
}

TEST_CASE("a length of 2^60 fails fast, before any allocation", "[codec]") {
    std::string const huge = u64(std::uint64_t{1} << 60) + "abcdefgh";
    CHECK_FALSE(decodes<std::string>(huge));
    CHECK_FALSE(decodes<std::vector<int>>(huge));
    CHECK_FALSE(decodes<std::vector<std::string>>(huge));
    CHECK_FALSE(decodes<std::vector<std::monostate>>(huge));
    CHECK_FALSE(decodes<std::vector<std::vector<int>>>(huge));
    CHECK_FALSE(decodes<std::deque<std::optional<std::array<char, 4096>>>>(huge));
    CHECK_FALSE(decodes<std::map<int, int>>(huge));
    CHECK_FALSE(decodes<std::unordered_map<std::string, int>>(huge));
    CHECK_FALSE(decodes<std::forward_list<int>>(huge));
    CHECK_FALSE(decodes<std::vector<int>>(u64(~std::uint64_t{0}) + "abcdefgh"));
    // Exactly as many elements as bytes allow is fine; one more is not.
    CHECK(decodes<std::vector<std::optional<int>>>(u64(3) + std::string(3, '\0')));
    CHECK_FALSE(decodes<std::vector<std::optional<int>>>(u64(4) + std::string(3, '\0')));
}

namespace {
std::size_t largest_allocation = 0;  // by counting_allocator, in bytes

template <class T>
struct counting_allocator {
    using value_type = T;
    counting_allocator() = default;
    template <class U>
    counting_allocator(const counting_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        largest_allocation = std::max(largest_allocation, n * sizeof(T));
        return std::allocator<T>{}.allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }
    template <class U>
    bool operator==(const counting_allocator<U>&) const noexcept {
        return true;
    }
};
}  // namespace

TEST_CASE("a count is trusted with memory only as its elements decode", "[codec]") {
    // An empty optional of a 4 KiB array encodes in one byte: a count that the bytes allow
    // would reserve 4096 times the input before the first element failed.
    using big = std::optional<std::array<double, 512>>;
    using counted = std::vector<big, counting_allocator<big>>;
    static_assert(is_encodable_v<counted>);
    std::string const lie = u64(4096) + std::string(4096, '\2');  // 2: no optional's marker
    largest_allocation = 0;
    CHECK_FALSE(decodes<counted>(lie));
    CHECK(largest_allocation < 4 * lie.size());
    // The same count with elements that decode: memory grows as they do.
    counted v;
    REQUIRE(decode(bytes_of(u64(4096) + std::string(4096, '\0')), v));
    CHECK(v.size() == 4096);
    CHECK(std::ranges::none_of(v, [](const big& e) { return e.has_value(); }));
}

TEST_CASE("elements larger than a thread's stack decode", "[codec]") {
    // 9 MiB each, more than the 8 MiB stack of a main thread on Linux: decoded where they stay
    // (a sequence) or through the heap (a set), never on the stack.
    using huge = std::array<char, (std::size_t{9} << 20)>;
    auto a = std::make_unique<huge>();
    auto b = std::make_unique<huge>();
    a->fill('a'), b->fill('b');
    std::vector<huge> seq(2);
    seq[0] = *a, seq[1] = *b;
    std::string bytes = encoded(seq);
    seq.clear(), seq.shrink_to_fit();
    std::vector<huge> seq_back;
    REQUIRE(decode(bytes_of(bytes), seq_back));
    REQUIRE(seq_back.size() == 2);
    CHECK((seq_back[0] == *a && seq_back[1] == *b));
    seq_back = {}, seq_back.shrink_to_fit();
    std::deque<huge> deq_back;
    REQUIRE(decode(bytes_of(bytes), deq_back));  // the same encoding: a count, then elements
    CHECK((deq_back.size() == 2 && deq_back.back() == *b));
    deq_back.clear();
    std::set<huge> set_back;
    REQUIRE(decode(bytes_of(bytes), set_back));  // 'a' < 'b': in the canonical order
    CHECK((set_back.size() == 2 && *set_back.begin() == *a));
}

TEST_CASE("fuzz: truncations and single-bit flips never crash nor decode wrongly", "[codec]") {
    fuzz(true);
    fuzz(std::uint32_t{0xDEADBEEF});
    fuzz(std::string("hello"));
    fuzz(std::vector<std::string>{"ab", "c", ""});
    fuzz(std::vector<bool>{true, false});
    fuzz(std::set<int>{1, 5, 9});
    fuzz(std::set<double>{-1.0, 0.5});
    fuzz(std::multimap<std::string, int>{{"a", 1}, {"a", 2}});
    fuzz(std::unordered_map<std::string, int>{{"x", 1}, {"y", 2}});
    fuzz(std::unordered_multiset<int>{3, 3, 4});
    fuzz(std::forward_list<short>{1, 2});
    fuzz(std::optional<std::vector<int>>{{1, 2}});
    fuzz(std::variant<bool, std::string, std::monostate>{true});
    fuzz(std::variant<bool, std::string, std::monostate>{std::string("v")});
    fuzz(std::tuple<std::monostate, std::tuple<>, std::array<bool, 2>>{});
    fuzz(std::chrono::system_clock::time_point(std::chrono::seconds(5)));
    fuzz(3.5L);
    fuzz(sample_record());
    fuzz(account("ann", 5));
}
