#pragma once
/// \file
/// How desync sees a value (docs/hashing.md): the one classification that drives both the hash
/// traversal (hash.hpp) and the value codec (codec.hpp), the ADL customization points, and
/// the checks that keep Boost.PFR away from aggregates it cannot reflect.

#include <boost/pfr.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace desync {
class hasher;
}  // namespace desync

namespace desync::detail {

/// False, but only once T is known: for the static_assert that ends an if-constexpr chain.
template <class...>
inline constexpr bool always_false = false;

template <class T, template <class...> class Template>
inline constexpr bool is_specialization_v = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_specialization_v<Template<Args...>, Template> = true;

// ---- ADL customization points ----

namespace adl {
// Poison pills: unqualified lookup stops here, so only argument-dependent lookup finds candidates
// (desync::hash_append itself is an object, which ADL never finds).
void hash_append() = delete;
void desync_fields() = delete;

template <class T>
concept has_hash_append = requires(hasher& h, const T& v) {
    hash_append(h, v);
};

template <class T>
concept has_fields_call = requires(const T& v) {
    desync_fields(v);
};

template <class T>
concept has_fields = has_fields_call<T> &&
    is_specialization_v<std::remove_cvref_t<decltype(desync_fields(std::declval<const T&>()))>,
                        std::tuple>;

template <class T>
decltype(auto) fields(const T& v) {
    return desync_fields(v);
}

template <class T>
decltype(auto) mutable_fields(T& v) {
    return desync_fields(v);
}

template <class T>
void call_hash_append(hasher& h, const T& v) {
    hash_append(h, v);
}
}  // namespace adl

/// What desync_fields(const T&) returns: a std::tuple, of references for a codec-able type.
template <class T>
using fields_t = std::remove_cvref_t<decltype(adl::fields(std::declval<const T&>()))>;

// ---- what Boost.PFR can reflect ----

// Converts only to a base class of T: T{probe} compiles iff T's first element is a base.
template <class T>
struct base_probe {
    template <class U>
        requires(std::is_base_of_v<U, T> && !std::is_same_v<U, T>)
    operator U&() const noexcept;
};

// Converts to anything.
struct member_probe {
    template <class U>
    operator U&() const noexcept;
};

// T{{probe}, ... N times}: one braced initializer per member, so no brace elision.
template <class T, std::size_t... I>
constexpr bool init_with_probes(std::index_sequence<I...>) {
    return requires { T{{(static_cast<void>(I), member_probe{})}...}; };
}

// T{{}, ... N times}, for N <= 32. A pack expansion cannot produce `{}`, hence the macros.
// clang-format off
#define DESYNC_DETAIL_B1 {}
#define DESYNC_DETAIL_B2 DESYNC_DETAIL_B1, {}
#define DESYNC_DETAIL_B3 DESYNC_DETAIL_B2, {}
#define DESYNC_DETAIL_B4 DESYNC_DETAIL_B3, {}
#define DESYNC_DETAIL_B5 DESYNC_DETAIL_B4, {}
#define DESYNC_DETAIL_B6 DESYNC_DETAIL_B5, {}
#define DESYNC_DETAIL_B7 DESYNC_DETAIL_B6, {}
#define DESYNC_DETAIL_B8 DESYNC_DETAIL_B7, {}
#define DESYNC_DETAIL_B9 DESYNC_DETAIL_B8, {}
#define DESYNC_DETAIL_B10 DESYNC_DETAIL_B9, {}
#define DESYNC_DETAIL_B11 DESYNC_DETAIL_B10, {}
#define DESYNC_DETAIL_B12 DESYNC_DETAIL_B11, {}
#define DESYNC_DETAIL_B13 DESYNC_DETAIL_B12, {}
#define DESYNC_DETAIL_B14 DESYNC_DETAIL_B13, {}
#define DESYNC_DETAIL_B15 DESYNC_DETAIL_B14, {}
#define DESYNC_DETAIL_B16 DESYNC_DETAIL_B15, {}
#define DESYNC_DETAIL_B17 DESYNC_DETAIL_B16, {}
#define DESYNC_DETAIL_B18 DESYNC_DETAIL_B17, {}
#define DESYNC_DETAIL_B19 DESYNC_DETAIL_B18, {}
#define DESYNC_DETAIL_B20 DESYNC_DETAIL_B19, {}
#define DESYNC_DETAIL_B21 DESYNC_DETAIL_B20, {}
#define DESYNC_DETAIL_B22 DESYNC_DETAIL_B21, {}
#define DESYNC_DETAIL_B23 DESYNC_DETAIL_B22, {}
#define DESYNC_DETAIL_B24 DESYNC_DETAIL_B23, {}
#define DESYNC_DETAIL_B25 DESYNC_DETAIL_B24, {}
#define DESYNC_DETAIL_B26 DESYNC_DETAIL_B25, {}
#define DESYNC_DETAIL_B27 DESYNC_DETAIL_B26, {}
#define DESYNC_DETAIL_B28 DESYNC_DETAIL_B27, {}
#define DESYNC_DETAIL_B29 DESYNC_DETAIL_B28, {}
#define DESYNC_DETAIL_B30 DESYNC_DETAIL_B29, {}
#define DESYNC_DETAIL_B31 DESYNC_DETAIL_B30, {}
#define DESYNC_DETAIL_B32 DESYNC_DETAIL_B31, {}
#define DESYNC_DETAIL_CASE(n) if constexpr (N == n) return requires { T{DESYNC_DETAIL_B##n}; }; else
template <class T, std::size_t N>
constexpr bool init_with_empty_braces() {
    DESYNC_DETAIL_CASE(1) DESYNC_DETAIL_CASE(2) DESYNC_DETAIL_CASE(3) DESYNC_DETAIL_CASE(4)
    DESYNC_DETAIL_CASE(5) DESYNC_DETAIL_CASE(6) DESYNC_DETAIL_CASE(7) DESYNC_DETAIL_CASE(8)
    DESYNC_DETAIL_CASE(9) DESYNC_DETAIL_CASE(10) DESYNC_DETAIL_CASE(11) DESYNC_DETAIL_CASE(12)
    DESYNC_DETAIL_CASE(13) DESYNC_DETAIL_CASE(14) DESYNC_DETAIL_CASE(15) DESYNC_DETAIL_CASE(16)
    DESYNC_DETAIL_CASE(17) DESYNC_DETAIL_CASE(18) DESYNC_DETAIL_CASE(19) DESYNC_DETAIL_CASE(20)
    DESYNC_DETAIL_CASE(21) DESYNC_DETAIL_CASE(22) DESYNC_DETAIL_CASE(23) DESYNC_DETAIL_CASE(24)
    DESYNC_DETAIL_CASE(25) DESYNC_DETAIL_CASE(26) DESYNC_DETAIL_CASE(27) DESYNC_DETAIL_CASE(28)
    DESYNC_DETAIL_CASE(29) DESYNC_DETAIL_CASE(30) DESYNC_DETAIL_CASE(31) DESYNC_DETAIL_CASE(32)
    return N == 0;
}
#undef DESYNC_DETAIL_CASE
#undef DESYNC_DETAIL_B1
#undef DESYNC_DETAIL_B2
#undef DESYNC_DETAIL_B3
#undef DESYNC_DETAIL_B4
#undef DESYNC_DETAIL_B5
#undef DESYNC_DETAIL_B6
#undef DESYNC_DETAIL_B7
#undef DESYNC_DETAIL_B8
#undef DESYNC_DETAIL_B9
#undef DESYNC_DETAIL_B10
#undef DESYNC_DETAIL_B11
#undef DESYNC_DETAIL_B12
#undef DESYNC_DETAIL_B13
#undef DESYNC_DETAIL_B14
#undef DESYNC_DETAIL_B15
#undef DESYNC_DETAIL_B16
#undef DESYNC_DETAIL_B17
#undef DESYNC_DETAIL_B18
#undef DESYNC_DETAIL_B19
#undef DESYNC_DETAIL_B20
#undef DESYNC_DETAIL_B21
#undef DESYNC_DETAIL_B22
#undef DESYNC_DETAIL_B23
#undef DESYNC_DETAIL_B24
#undef DESYNC_DETAIL_B25
#undef DESYNC_DETAIL_B26
#undef DESYNC_DETAIL_B27
#undef DESYNC_DETAIL_B28
#undef DESYNC_DETAIL_B29
#undef DESYNC_DETAIL_B30
#undef DESYNC_DETAIL_B31
#undef DESYNC_DETAIL_B32
// clang-format on

// Boost.PFR stops with a hard error on base classes and on C array members (it counts an
// array's elements as fields, through brace elision). Both are caught here first: with an array
// member, T has fewer members than PFR's count, so neither braced form with that count compiles.
template <class T>
constexpr bool pfr_reflectable() {
    if constexpr (!std::is_copy_constructible_v<T> &&
                  !(std::is_move_constructible_v<T> && std::is_move_assignable_v<T>))
        return false;
    else if constexpr (requires { T{base_probe<T>{}}; })
        return false;
    else
        return init_with_empty_braces<T, boost::pfr::tuple_size_v<T>>() ||
               init_with_probes<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
}

template <class T>
using pfr_fields_t = decltype(boost::pfr::structure_tie(std::declval<const T&>()));

// ---- kinds ----

/// How a type is traversed. The order of the checks in kind_of is the priority.
enum class value_kind : std::uint8_t {
    none,           // nothing applies
    pointer,        // raw, member, smart pointer, nullptr_t, reference_wrapper: refused
    user_hash,      // hash_append(H&, const T&) found by ADL
    fields,         // desync_fields(const T&) found by ADL
    boolean,        // one byte, 0 or 1
    bits,           // integers, characters, enums, float, double: the object's bytes
    long_double,    // the bytes of the value, without padding
    empty,          // std::monostate
    duration,       // std::chrono::duration
    time_point,     // std::chrono::time_point
    optional,       // std::optional
    variant,        // std::variant
    tuple,          // std::pair, std::tuple
    unordered,      // unordered containers: independent of iteration order
    range,          // other ranges: length, then elements
    aggregate,      // an aggregate reflected by Boost.PFR
    unreflectable,  // an aggregate Boost.PFR cannot reflect (base class, C array member)
};

template <class T>
inline constexpr bool is_pointer_like_v =
    std::is_pointer_v<T> || std::is_member_pointer_v<T> || std::is_null_pointer_v<T> ||
    is_specialization_v<T, std::reference_wrapper> || is_specialization_v<T, std::shared_ptr> ||
    is_specialization_v<T, std::weak_ptr> || is_specialization_v<T, std::unique_ptr>;

// Floats hash and encode by bit pattern. An x87 long double (64-bit mantissa) has 10 bytes of
// value and 2 or 6 bytes of padding, whose contents are arbitrary.
template <class T>
inline constexpr bool is_x87_v = std::numeric_limits<T>::digits == 64;
template <class T>
inline constexpr std::size_t long_double_value_size = is_x87_v<T> ? 10 : sizeof(T);

template <class T>
concept has_hash_and_key_equal = requires {
    typename T::key_equal;
    typename T::hasher;
};

template <class T>
concept unordered_container = std::ranges::input_range<const T> && has_hash_and_key_equal<T>;

template <class T>
concept countable_range = std::ranges::input_range<const T> &&
    (std::ranges::sized_range<const T> || std::ranges::forward_range<const T>);

template <class T>
constexpr value_kind kind_of() {
    if constexpr (adl::has_hash_append<T>)
        return value_kind::user_hash;
    else if constexpr (adl::has_fields<T>)
        return value_kind::fields;
    else if constexpr (is_pointer_like_v<T>)
        return value_kind::pointer;
    else if constexpr (std::is_same_v<T, bool>)
        return value_kind::boolean;
    else if constexpr (std::is_same_v<T, long double>)
        return value_kind::long_double;
    else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>)
        return value_kind::bits;
    else if constexpr (std::is_same_v<T, std::monostate>)
        return value_kind::empty;
    else if constexpr (is_specialization_v<T, std::chrono::duration>)
        return value_kind::duration;
    else if constexpr (is_specialization_v<T, std::chrono::time_point>)
        return value_kind::time_point;
    else if constexpr (is_specialization_v<T, std::optional>)
        return value_kind::optional;
    else if constexpr (is_specialization_v<T, std::variant>)
        return value_kind::variant;
    else if constexpr (is_specialization_v<T, std::pair> || is_specialization_v<T, std::tuple>)
        return value_kind::tuple;
    else if constexpr (unordered_container<T>)
        return value_kind::unordered;
    else if constexpr (countable_range<T>)
        return value_kind::range;
    else if constexpr (std::is_aggregate_v<T> && std::is_class_v<T> && !std::is_union_v<T>)
        return pfr_reflectable<T>() ? value_kind::aggregate : value_kind::unreflectable;
    else
        return value_kind::none;
}

/// The element type of a range as stored (std::map's pair<const K, V> included).
template <class R>
using range_element_t = std::remove_cvref_t<std::ranges::range_reference_t<const R>>;

/// Elements whose object bytes are their value: a contiguous range of them is one write.
template <class T>
inline constexpr bool bitwise_v = (kind_of<T>() == value_kind::bits) ||
                                  (kind_of<T>() == value_kind::boolean);

/// The number of elements of a range, counting them when it is not sized.
template <class R>
std::uint64_t element_count(const R& r) {
    if constexpr (std::ranges::sized_range<const R>)
        return static_cast<std::uint64_t>(std::ranges::size(r));
    else
        return static_cast<std::uint64_t>(std::ranges::distance(r));
}

template <class R>
concept bulk_range = std::ranges::contiguous_range<const R> && std::ranges::sized_range<const R> &&
    bitwise_v<range_element_t<R>>;

// ---- verdicts: can a type be handled, and if not, why ----

/// Why a type cannot be hashed or encoded; `ok` if it can. Ordered: the first reason wins.
enum class verdict : std::uint8_t { ok, pointer, recursive, unreflectable, none };

constexpr verdict worst_verdict(std::initializer_list<verdict> vs) {
    verdict w = verdict::ok;
    for (verdict v : vs)
        if (v != verdict::ok && (w == verdict::ok || v < w)) w = v;
    return w;
}

template <class T, class... Seen>
inline constexpr bool seen_v = (std::is_same_v<T, Seen> || ...);

/// Applies Check<Component, Seen...>() to each component type of a tuple-like list.
template <template <class, class...> class Check, class Tuple, class... Seen>
struct components_verdict;
template <template <class, class...> class Check, template <class...> class L, class... Ts,
          class... Seen>
struct components_verdict<Check, L<Ts...>, Seen...> {
    static constexpr verdict value =
        worst_verdict({verdict::ok, Check<std::remove_cvref_t<Ts>, Seen...>::value...});
};

}  // namespace desync::detail
