#pragma once
// An enum's meaning, for memo keys: its enumerators' names and values, read off the compiler's
// name of a template instantiated on each value of a bounded range (the technique magic_enum
// uses). Reordering, inserting or renaming enumerators changes the enum's shape, so results
// keyed or typed by it before no longer match. A value outside the range could name an
// enumerator the shape cannot see: such a call runs and is not recorded.

#include <desync/xxhash.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

namespace desync {

/// The values desync looks for an enum's enumerators among, for the enum's part in memo keys:
/// [-128, 127], or [0, 255] for an unsigned underlying type, within the type's own range.
/// Specialize it for an enum whose enumerators lie elsewhere (`min`, `max`; at most 4096
/// values), or give it `static constexpr bool values_only = true` for an enum whose values are
/// their meaning (no enumerators: a strong typedef, like std::byte).
template <class E>
struct enum_range {
    static constexpr long long min = std::is_signed_v<std::underlying_type_t<E>> ? -128 : 0;
    static constexpr long long max = std::is_signed_v<std::underlying_type_t<E>> ? 127 : 255;
};

/// std::byte has no enumerators: its values are its meaning.
template <>
struct enum_range<std::byte> {
    static constexpr bool values_only = true;
};

namespace detail {

template <class E>
constexpr bool enum_values_only() {
    if constexpr (requires { enum_range<E>::values_only; })
        return enum_range<E>::values_only;
    else
        return false;
}

/// The range actually scanned: enum_range<E> within the underlying type's limits.
template <class E>
struct enum_bounds {
    using U = std::underlying_type_t<E>;
    static constexpr long long lowest =
        std::is_signed_v<U> ? static_cast<long long>(std::numeric_limits<U>::min()) : 0;
    static constexpr long long highest =
        static_cast<unsigned long long>(std::numeric_limits<U>::max()) >
                static_cast<unsigned long long>(std::numeric_limits<long long>::max())
            ? std::numeric_limits<long long>::max()
            : static_cast<long long>(std::numeric_limits<U>::max());
    static constexpr long long min = enum_range<E>::min < lowest ? lowest : enum_range<E>::min;
    static constexpr long long max = enum_range<E>::max > highest ? highest : enum_range<E>::max;
    static_assert(min <= max, "desync::enum_range: min must not exceed max");
    static_assert(max - min < 4096,
                  "desync::enum_range: an enum's range spans at most 4096 values (each is a "
                  "template instantiation at compile time)");
};

template <auto V>
constexpr std::string_view enumerator_probe() noexcept {
#if defined(_MSC_VER) && !defined(__clang__)
    return __FUNCSIG__;
#else
    return __PRETTY_FUNCTION__;
#endif
}

/// How the compiler prints the value V: "ns::e::name" for an enumerator, "(ns::e)3" otherwise.
template <auto V>
constexpr std::string_view enumerator_text() noexcept {
    constexpr std::string_view p = enumerator_probe<V>();
    constexpr std::size_t at = p.rfind("V = ") + 4;
    return p.substr(at, p.find_first_of(";]", at) - at);
}

/// Whether the compiler printed a value that no enumerator names: "(ns::e)3", "(ns::e)-1" (an
/// enumerator's name may start with "(anonymous namespace)::", but never ends in a number
/// after a parenthesis).
constexpr bool unnamed_value(std::string_view text) {
    std::size_t const close = text.rfind(')');
    if (close == std::string_view::npos) return text.empty();
    std::string_view const number = text.substr(close + 1);
    return !number.empty() && number.find_first_not_of("-0123456789") == std::string_view::npos;
}

constexpr void add_enumerator(xxh64_stream& s, std::size_t& named, long long value,
                              std::string_view text) {
    if (unnamed_value(text)) return;
    ++named;
    for (int i = 0; i < 64; i += 8) s.byte((static_cast<unsigned long long>(value) >> i) & 0xFF);
    s.byte(text.size() & 0xFF);
    s.bytes(text.data(), text.size());
}

template <class E, std::size_t... I>
constexpr std::uint64_t enum_meaning(std::index_sequence<I...>) {
    constexpr long long min = enum_bounds<E>::min;
    xxh64_stream s(0x656e756d6d65616eull);  // "enummean"
    std::size_t named = 0;
    (add_enumerator(s, named, min + static_cast<long long>(I),
                    enumerator_text<static_cast<E>(min + static_cast<long long>(I))>()),
     ...);
    s.byte(named & 0xFF);
    return named ? s.digest() : 0;
}

/// An enum's meaning: a hash of its enumerators (values and names) within its range; 0 for an
/// enum whose values are their meaning.
template <class E>
constexpr std::uint64_t enum_meaning_id() {
    if constexpr (enum_values_only<E>()) {
        return 0;
    } else {
        constexpr std::uint64_t id =
            enum_meaning<E>(std::make_index_sequence<static_cast<std::size_t>(
                                enum_bounds<E>::max - enum_bounds<E>::min + 1)>{});
        static_assert(id != 0,
                      "desync: an enum in a memo key shows no enumerator within "
                      "desync::enum_range (by default [-128, 127], or [0, 255] if unsigned): "
                      "specialize desync::enum_range for it (min, max), or give it "
                      "`static constexpr bool values_only = true` if it has no enumerators");
        return id;
    }
}

/// Whether the key can see what `v` means: it lies within the range scanned for enumerators.
template <class E>
constexpr bool enum_in_range(E v) noexcept {
    if constexpr (enum_values_only<E>()) {
        return true;
    } else {
        using U = std::underlying_type_t<E>;
        auto const u = static_cast<U>(v);
        if constexpr (std::is_signed_v<U>)
            return static_cast<long long>(u) >= enum_bounds<E>::min &&
                   static_cast<long long>(u) <= enum_bounds<E>::max;
        else
            return static_cast<unsigned long long>(u) >=
                       static_cast<unsigned long long>(enum_bounds<E>::min) &&
                   static_cast<unsigned long long>(u) <=
                       static_cast<unsigned long long>(enum_bounds<E>::max);
    }
}

}  // namespace detail
}  // namespace desync
