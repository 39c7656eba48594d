#pragma once
// Memo keys (docs/memo.md): XXH3-128 over the callee's full hash, the identity of the argument and
// result types, and the argument values. A type's identity here is its shape: its name, its
// size, and the shapes of what it is made of (an aggregate's fields, a container's elements),
// so that a struct that gains or changes a field no longer matches results saved before.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/hash/value_kind.hpp>
#include <desync/hash.hpp>
#include <desync/xxhash.hpp>
#include <initializer_list>
#include <tuple>
#include <type_traits>

namespace desync::detail {

/// One 64-bit identity from several, in order (constexpr).
constexpr std::uint64_t mix_ids(std::initializer_list<std::uint64_t> ids) {
    xxh64_stream s(0x6d656d6f6b657931ull);  // "memokey1"
    for (std::uint64_t id : ids)
        for (int i = 0; i < 8; ++i) s.byte((id >> (8 * i)) & 0xFF);
    return s.digest();
}

template <class T, class... Seen>
constexpr std::uint64_t shape_id();

template <class Tuple, class... Seen>
struct component_shapes;
template <template <class...> class L, class... Ts, class... Seen>
struct component_shapes<L<Ts...>, Seen...> {
    static constexpr std::uint64_t value =
        mix_ids({sizeof...(Ts), shape_id<std::remove_cvref_t<Ts>, Seen...>()...});
};

template <class T>
constexpr std::uint64_t own_shape() {
    if constexpr (std::is_void_v<T>)
        return type_id<void>();
    else if constexpr (std::is_enum_v<T> && kind_of<T>() == value_kind::bits)
        return mix_ids({type_id<T>(), sizeof(T), static_cast<std::uint64_t>(kind_of<T>()),
                        enum_meaning_id<T>()});
    else
        return mix_ids({type_id<T>(), sizeof(T), static_cast<std::uint64_t>(kind_of<T>())});
}

/// Whether a value of T may hold an enum (whose meaning memo keys check at run time).
template <class T, class... Seen>
constexpr bool contains_enum() {
    if constexpr (std::is_void_v<T> || seen_v<T, Seen...>) {
        return false;
    } else {
        constexpr value_kind k = kind_of<T>();
        using enum value_kind;
        if constexpr (k == bits)
            return std::is_enum_v<T>;
        else if constexpr (k == fields)
            return []<class... F>(std::type_identity<std::tuple<F...>>) {
                return (contains_enum<std::remove_cvref_t<F>, T, Seen...>() || ...);
            }(std::type_identity<fields_t<T>>{});
        else if constexpr (k == aggregate)
            return []<class... F>(std::type_identity<std::tuple<F...>>) {
                return (contains_enum<std::remove_cvref_t<F>, T, Seen...>() || ...);
            }(std::type_identity<pfr_fields_t<T>>{});
        else if constexpr (k == variant || k == tuple)
            return []<template <class...> class L, class... C>(std::type_identity<L<C...>>) {
                return (contains_enum<std::remove_cvref_t<C>, T, Seen...>() || ...);
            }(std::type_identity<T>{});
        else if constexpr (k == optional)
            return contains_enum<typename T::value_type, T, Seen...>();
        else if constexpr (k == range || k == unordered)
            return contains_enum<range_element_t<T>, T, Seen...>();
        else
            return false;  // user_hash: its own business; others hold no enum
    }
}

template <class T>
inline constexpr bool contains_enum_v = contains_enum<std::remove_cvref_t<T>>();

/// Thrown where a memo key cannot see what an argument means (an enum value outside
/// desync::enum_range): the call runs, and its result is not recorded.
struct unkeyable {};

/// The shape of T: its name, size and kind, and the shapes of its components. Types opaque to
/// desync (hash_append only, or not hashable at all) are known by name and size alone.
template <class T, class... Seen>
constexpr std::uint64_t shape_id() {
    if constexpr (std::is_void_v<T> || seen_v<T, Seen...>) {
        return own_shape<T>();
    } else {
        constexpr value_kind k = kind_of<T>();
        using enum value_kind;
        if constexpr (k == fields)
            return mix_ids({own_shape<T>(), component_shapes<fields_t<T>, T, Seen...>::value});
        else if constexpr (k == aggregate)
            return mix_ids({own_shape<T>(), component_shapes<pfr_fields_t<T>, T, Seen...>::value});
        else if constexpr (k == variant || k == tuple)
            return mix_ids({own_shape<T>(), component_shapes<T, T, Seen...>::value});
        else if constexpr (k == optional)
            return mix_ids({own_shape<T>(), shape_id<typename T::value_type, T, Seen...>()});
        else if constexpr (k == range || k == unordered)
            return mix_ids({own_shape<T>(), shape_id<range_element_t<T>, T, Seen...>()});
        else
            return own_shape<T>();
    }
}

/// The identity of a result type V in a memo table and a cache file.
template <class V>
inline constexpr std::uint64_t result_type_id = shape_id<V>();

/// The identity of a call's types: its result V and its argument values K...
template <class V, class... K>
inline constexpr std::uint64_t call_signature = mix_ids({shape_id<V>(), shape_id<K>()...});

/// Whether a call returning V with argument values K... can be memoized at all: every argument
/// hashable, and a result that can be copied out of the table (or none).
template <class V, class... K>
inline constexpr bool memo_eligible_v = (hashable<K> && ...) &&
                                        (std::is_void_v<V> ||
                                         (std::is_object_v<V> && std::is_copy_constructible_v<V>));

/// The memo key of a call of the function whose full hash is `callee` with `values`: XXH3-128
/// of 16 bytes (callee, call_signature) followed by what hash_append writes for each value.
template <class V, class... K>
hash128 memo_key_streamed(std::uint64_t callee, const K&... values) {
    hasher h;
    std::uint64_t const head[2] = {callee, call_signature<V, K...>};
    h.write(head, sizeof head);  // 16 bytes: a range that follows stays 16-byte aligned
    (hash_append(h, values), ...);
    if ((contains_enum_v<K> || ...) && h.saw_unranged_enum()) throw unkeyable{};
    return h.digest();
}

/// A value that hash_append writes as its own bytes, and that fits in a word.
template <class T>
inline constexpr bool word_sized_scalar_v = (kind_of<T>() == value_kind::bits ||
                                             kind_of<T>() == value_kind::boolean) &&
                                            sizeof(T) <= 8;

/// The bytes of memo_key_streamed's input when every value is a word-sized scalar.
template <class... K>
inline constexpr std::size_t packed_key_size = 16 + (std::size_t{0} + ... + sizeof(K));

/// Whether the values can be packed into words as hash_append writes them.
template <class... K>
inline constexpr bool scalar_values_v = std::endian::native == std::endian::little &&
                                        (word_sized_scalar_v<K> && ...);

template <class... K>
inline constexpr bool packed_key_v = scalar_values_v<K...> &&
                                     sizeof...(K) > 0 && packed_key_size<K...> <= 128;

/// Appends the bytes of `v` at byte `at` of `w` (zeroed there), with shifts.
template <std::size_t W, class T>
DESYNC_DETAIL_ALWAYS_INLINE constexpr void pack_bytes(std::array<std::uint64_t, W>& w,
                                                      std::size_t& at, const T& v) noexcept {
    std::uint64_t bits = 0;
    if constexpr (std::is_same_v<T, bool>)
        bits = v ? 1 : 0;
    else
        std::memcpy(&bits, &v, sizeof v);
    std::size_t const q = at / 8, r = at % 8;
    w[q] |= bits << (8 * r);
    if (r + sizeof(T) > 8) w[q + 1] |= bits >> (64 - 8 * r);
    at += sizeof(T);
}

/// W words holding the bytes of `values` from byte `at` on, zero elsewhere.
template <std::size_t W, class... K>
DESYNC_DETAIL_ALWAYS_INLINE constexpr std::array<std::uint64_t, W> packed_words(
    [[maybe_unused]] std::size_t at, const K&... values) noexcept {
    std::array<std::uint64_t, W> w{};
    (pack_bytes(w, at, values), ...);
    return w;
}

/// Whether the arguments pack into two words: then (callee, call_signature, those words) is
/// everything the key is made of, and names it without hashing (memo_quick.hpp).
template <class... K>
inline constexpr bool two_word_key_v = scalar_values_v<K...>&& packed_key_size<K...> <= 32;

/// The memo key of a call of the function whose full hash is `callee` with `values`. Scalar
/// arguments (the common case of a hit) are packed into words in registers, and hashed from
/// there to the same bits as memo_key_streamed: written to memory piece by piece, they would
/// be read back across the pieces, which stalls the load for longer than the hash takes.
template <class V, class... K>
hash128 memo_key(std::uint64_t callee, const K&... values) {
    if constexpr (packed_key_v<K...>) {
        if constexpr ((std::is_enum_v<K> || ...)) {
            auto in_range = [](const auto& v) {
                if constexpr (std::is_enum_v<std::remove_cvref_t<decltype(v)>>)
                    return enum_in_range(v);
                else
                    return true;
            };
            if (!(in_range(values) && ...)) throw unkeyable{};
        }
        constexpr std::size_t size = packed_key_size<K...>;
        auto w = packed_words<(size + 7) / 8>(16, values...);
        w[0] = callee;
        w[1] = call_signature<V, K...>;
        return xxh3_128_words<size>(w);
    } else {
        return memo_key_streamed<V>(callee, values...);
    }
}

}  // namespace desync::detail
