#pragma once
/// \file
/// The value codec of the cache file (docs/memo.md), driven by the same classification as hashing
/// (detail/value_kind.hpp). Native endianness and sizes: the cache file's header records them.
///
/// Encoding: bool 1 byte (0/1); integers, characters, enums, float, double: their bytes; long
/// double: the bytes of its value; monostate, empty tuples and aggregates, std::array<T, 0>: one
/// 0 byte, so that every value takes at least one byte; optional: 0/1 byte, then the value;
/// variant: index (std::uint64_t), then the alternative; pair, tuple, aggregates and
/// desync_fields: their members in order; duration: its count; time_point: its duration;
/// std::array and C arrays: their elements; other containers: count (std::uint64_t), then the
/// elements; contiguous containers of integers, characters, enums, floats: one block of bytes;
/// unordered containers: elements sorted by their encoded bytes, so equal values encode alike.
///
/// Decoding treats its input as untrusted: a count is checked against the bytes left before
/// anything is allocated (each element takes at least min_encoded_size bytes), bools are 0 or 1,
/// variant indexes are in range, sets and maps must come in order and without duplicates, and
/// recursion is bounded by the type (recursive types are not encodable). Whatever decodes
/// re-encodes to exactly the bytes it came from.

#include <desync/detail/hash/value_kind.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace desync::detail {

template <class E>
struct decoded {
    using type = E;
};
template <class K, class V>
struct decoded<std::pair<const K, V>> {  // a map's element, decoded before insertion
    using type = std::pair<K, V>;
};
/// The type a container's element is decoded into.
template <class E>
using decoded_t = typename decoded<E>::type;

template <class T>
inline constexpr bool is_std_array_v = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;

template <class T>
inline constexpr bool is_fixed_array_v = std::is_bounded_array_v<T> || is_std_array_v<T>;

template <class T>
inline constexpr std::size_t fixed_extent_v = [] {
    if constexpr (std::is_bounded_array_v<T>)
        return std::extent_v<T>;
    else
        return std::tuple_size_v<T>;
}();

template <class C, class E = decoded_t<range_element_t<C>>>
concept push_backable = requires(C& c, E&& e) {
    c.push_back(std::move(e));
};
template <class C, class E = decoded_t<range_element_t<C>>>
concept hint_insertable = requires(C& c, E&& e) {
    { c.insert(c.cend(), std::move(e)) } -> std::same_as<typename C::iterator>;
};
template <class C, class E = decoded_t<range_element_t<C>>>
concept after_insertable = requires(C& c, E&& e) {
    c.insert_after(c.before_begin(), std::move(e));
};

template <class C>
concept clearable = requires(C& c) {
    c.clear();
};

/// A container the decoder can refill: clear() it, then add elements at the end.
template <class C>
concept refillable = clearable<C> &&(push_backable<C> || hint_insertable<C> || after_insertable<C>);

template <class C>
concept resizable = requires(C& c, std::size_t n) {
    c.resize(n);
};

// Contiguous, resizable, of elements whose every byte pattern is a value: decoded in one block.
template <class C>
concept block_decodable = std::ranges::contiguous_range<C> && resizable<C> &&
    (kind_of<range_element_t<C>>() == value_kind::bits);

template <class T, class... Seen>
struct encode_check;

template <class Tuple, class... Seen>
struct all_encodable;
template <template <class...> class L, class... Ts, class... Seen>
struct all_encodable<L<Ts...>, Seen...> {
    static constexpr bool value = (encode_check<std::remove_cvref_t<Ts>, Seen...>::value && ...);
};

template <class Tuple>
inline constexpr bool all_mutable_refs_v = false;
template <class... Ts>
inline constexpr bool all_mutable_refs_v<std::tuple<Ts...>> =
    ((std::is_lvalue_reference_v<Ts> && !std::is_const_v<std::remove_reference_t<Ts>>)&&...);

template <class T>
using mutable_fields_t = decltype(adl::mutable_fields(std::declval<T&>()));
template <class T>
using pfr_mutable_fields_t = decltype(boost::pfr::structure_tie(std::declval<T&>()));

template <class A, class B>
inline constexpr bool same_members_v = false;
template <class... As, class... Bs>
inline constexpr bool same_members_v<std::tuple<As...>, std::tuple<Bs...>> =
    std::is_same_v<std::tuple<std::remove_cvref_t<As>...>, std::tuple<std::remove_cvref_t<Bs>...>>;

// desync_fields(T&) must tie the same members, writable, as desync_fields(const T&).
template <class T, class... Seen>
constexpr bool fields_encodable() {
    if constexpr (!requires(T & v) { adl::mutable_fields(v); })
        return false;
    else
        return all_mutable_refs_v<mutable_fields_t<T>> &&
               same_members_v<mutable_fields_t<T>, fields_t<T>> &&
               all_encodable<fields_t<T>, T, Seen...>::value;
}

/// Whether T can be written to and read from a cache file (Seen: the types containing T).
template <class T, class... Seen>
struct encode_check {
    static constexpr bool value = [] {
        constexpr value_kind k = kind_of<T>();
        using enum value_kind;
        if constexpr (seen_v<T, Seen...>)
            return false;
        else if constexpr (std::is_bounded_array_v<T>)
            return encode_check<std::remove_extent_t<T>, T, Seen...>::value;
        else if constexpr (!std::default_initializable<T>)
            return false;
        else if constexpr (adl::has_fields<T>)
            return fields_encodable<T, Seen...>();
        else if constexpr (k == boolean || k == bits || k == long_double || k == empty)
            return true;
        else if constexpr (k == duration)
            return encode_check<typename T::rep, T, Seen...>::value;
        else if constexpr (k == time_point)
            return encode_check<typename T::duration, T, Seen...>::value;
        else if constexpr (k == optional)
            return encode_check<typename T::value_type, T, Seen...>::value;
        else if constexpr (k == variant || k == tuple)
            return all_encodable<T, T, Seen...>::value;
        else if constexpr (k == range || k == unordered)
            return (is_std_array_v<T> ||
                    refillable<T>)&&encode_check<decoded_t<range_element_t<T>>, T, Seen...>::value;
        else if constexpr (k == aggregate)
            return all_mutable_refs_v<pfr_mutable_fields_t<T>> &&
                   all_encodable<pfr_fields_t<T>, T, Seen...>::value;
        else
            return false;  // pointers, views, hash_append-only and unknown types
    }();
};

/// Whether values of T can be saved in a cache file (hashable views and hash_append-only
/// types cannot); T must be default-constructible, as decoding fills a default value.
template <class T>
inline constexpr bool is_encodable_v = encode_check<std::remove_cvref_t<T>>::value;

template <class Tuple>
struct members_min_size;

/// The fewest bytes any value of T encodes to; at least 1, so a count never outruns the input.
template <class T>
constexpr std::size_t min_encoded_size() {
    constexpr value_kind k = kind_of<T>();
    using enum value_kind;
    if constexpr (is_fixed_array_v<T>)
        return std::max<std::size_t>(
            1, fixed_extent_v<T> * min_encoded_size<decoded_t<range_element_t<T>>>());
    else if constexpr (adl::has_fields<T>)
        return members_min_size<fields_t<T>>::value;
    else if constexpr (k == boolean || k == empty || k == optional)
        return 1;
    else if constexpr (k == bits)
        return sizeof(T);
    else if constexpr (k == long_double)
        return long_double_value_size<T>;
    else if constexpr (k == duration)
        return min_encoded_size<typename T::rep>();
    else if constexpr (k == time_point)
        return min_encoded_size<typename T::duration>();
    else if constexpr (k == variant)
        return 8 + members_min_size<T>::smallest;
    else if constexpr (k == tuple)
        return members_min_size<T>::value;
    else if constexpr (k == aggregate)
        return members_min_size<pfr_fields_t<T>>::value;
    else
        return 8;  // a counted container
}

template <template <class...> class L, class... Ts>
struct members_min_size<L<Ts...>> {
    static constexpr std::size_t value =
        std::max<std::size_t>(1, (0 + ... + min_encoded_size<std::remove_cvref_t<Ts>>()));
    static constexpr std::size_t smallest =
        std::min({min_encoded_size<std::remove_cvref_t<Ts>>()...});
};

// ---- encoding ----

template <class T>
void put_value(std::string& out, const T& v);

inline void put_bytes(std::string& out, const void* p, std::size_t n) {
    if (n != 0) out.append(static_cast<const char*>(p), n);
}
inline void put_u64(std::string& out, std::uint64_t n) { put_bytes(out, &n, sizeof n); }

template <class Tuple>
void put_members(std::string& out, const Tuple& t) {
    if constexpr (std::tuple_size_v<Tuple> == 0)
        out.push_back('\0');
    else
        std::apply([&out](const auto&... m) { (put_value(out, m), ...); }, t);
}

template <class R>
void put_elements(std::string& out, const R& r, std::size_t n) {
    if constexpr (bitwise_v<range_element_t<R>> && std::ranges::contiguous_range<const R>)
        put_bytes(out, std::ranges::data(r), n * sizeof(range_element_t<R>));
    else
        for (const auto& e : r) put_value(out, e);
}

template <class R>
void put_range(std::string& out, const R& r) {
    std::uint64_t const n = element_count(r);
    put_u64(out, n);
    put_elements(out, r, static_cast<std::size_t>(n));
}

template <class O>
void put_optional(std::string& out, const O& o) {
    put_value(out, o.has_value());
    if (o) put_value(out, *o);
}

// A valueless variant writes variant_npos, which decoding refuses: there is no such value to make.
template <class V>
void put_variant(std::string& out, const V& v) {
    put_u64(out, static_cast<std::uint64_t>(v.index()));
    if (!v.valueless_by_exception()) std::visit([&out](const auto& a) { put_value(out, a); }, v);
}

template <class C>
void put_unordered(std::string& out, const C& c) {
    std::vector<std::string> parts;
    parts.reserve(c.size());
    for (const auto& e : c) put_value(parts.emplace_back(), e);
    std::sort(parts.begin(), parts.end());  // canonical: iteration order is not part of the value
    put_u64(out, parts.size());
    for (const std::string& p : parts) out += p;
}

template <class T>
void put_value(std::string& out, const T& v) {
    constexpr value_kind k = kind_of<T>();
    using enum value_kind;
    if constexpr (is_fixed_array_v<T>)
        fixed_extent_v<T> == 0 ? out.push_back('\0') : put_elements(out, v, fixed_extent_v<T>);
    else if constexpr (adl::has_fields<T>)
        put_members(out, adl::fields(v));
    else if constexpr (k == boolean)
        out.push_back(v ? '\1' : '\0');
    else if constexpr (k == bits)
        put_bytes(out, &v, sizeof v);
    else if constexpr (k == long_double)
        put_bytes(out, &v, long_double_value_size<T>);
    else if constexpr (k == empty)
        out.push_back('\0');
    else if constexpr (k == duration)
        put_value(out, v.count());
    else if constexpr (k == time_point)
        put_value(out, v.time_since_epoch());
    else if constexpr (k == optional)
        put_optional(out, v);
    else if constexpr (k == variant)
        put_variant(out, v);
    else if constexpr (k == tuple)
        put_members(out, v);
    else if constexpr (k == unordered)
        put_unordered(out, v);
    else if constexpr (k == range)
        put_range(out, v);
    else if constexpr (k == aggregate)
        put_members(out, boost::pfr::structure_tie(v));
    else
        static_assert(always_false<T>,
                      "desync: internal error: put reached a type that is not encodable");
}

// ---- decoding ----

/// The bytes still to decode.
struct byte_reader {
    const std::byte* p;
    std::size_t left;

    bool take(void* dst, std::size_t n) {
        if (n > left) return false;
        if (n != 0) std::memcpy(dst, p, n);
        p += n, left -= n;
        return true;
    }
    bool byte_at_most(std::uint8_t max, std::uint8_t& b) { return take(&b, 1) && b <= max; }
};

template <class T>
bool get_value(byte_reader& r, T& v);

template <class Tuple>
bool get_members(byte_reader& r, Tuple&& t) {
    std::uint8_t marker = 0;
    if constexpr (std::tuple_size_v<std::remove_cvref_t<Tuple>> == 0)
        return r.byte_at_most(0, marker);
    else
        return std::apply([&r](auto&... m) { return (get_value(r, m) && ...); }, t);
}

template <class A>
bool get_fixed(byte_reader& r, A& a) {
    using E = range_element_t<A>;
    constexpr std::size_t n = fixed_extent_v<A>;
    std::uint8_t marker = 0;
    if constexpr (n == 0)
        return r.byte_at_most(0, marker);
    else if constexpr (kind_of<E>() == value_kind::bits)
        return r.take(std::ranges::data(a), n * sizeof(E));
    else
        return std::ranges::all_of(a, [&r](E& e) { return get_value(r, e); });
}

// Encoded elements of an unordered container must come sorted (ties allowed: multisets).
inline bool in_canonical_order(std::span<const std::byte> previous,
                               std::span<const std::byte> current) {
    return !std::ranges::lexicographical_compare(current, previous);
}

// Sequences whose emplace_back() gives a reference to the element (not vector<bool>'s proxy)
// decode each element where it stays: no copy, and no element on the stack.
template <class C, class E>
concept decodes_in_place = kind_of<C>()
== value_kind::range&& requires(C& c) {
    { c.emplace_back() } -> std::same_as<E&>;
};

// An element decoded before it is inserted: on the stack if small, else on the heap, so that
// a large element (a vector of big arrays) cannot overflow the stack of the thread that
// decodes, which may be any thread that calls.
template <class E, bool on_heap = (sizeof(E) > 256)>
class element_holder {
public:
    E& get() noexcept { return e_; }

private:
    E e_{};
};
template <class E>
class element_holder<E, true> {
public:
    E& get() noexcept { return *e_; }

private:
    std::unique_ptr<E> e_ = std::make_unique<E>();
};

template <class C>
bool add_element(C& c, decoded_t<range_element_t<C>>&& e, typename C::iterator& last) {
    if constexpr (push_backable<C>) {
        c.push_back(std::move(e));
    } else if constexpr (after_insertable<C>) {
        last = c.insert_after(last, std::move(e));
    } else {
        std::size_t const before = c.size();
        auto const at = c.insert(c.cend(), std::move(e));
        if (c.size() != before + 1) return false;  // a duplicate key
        if constexpr (requires { typename C::key_compare; })
            if (std::next(at) != c.end())
                return false;  // out of order: it would re-encode otherwise
    }
    return true;
}

template <class C>
bool get_container(byte_reader& r, C& c) {
    using E = decoded_t<range_element_t<C>>;
    std::uint64_t n = 0;
    if (!r.take(&n, sizeof n) || n > r.left / min_encoded_size<E>())
        return false;  // before allocating
    c.clear();
    if constexpr (block_decodable<C>) {
        c.resize(static_cast<std::size_t>(n));
        return r.take(std::ranges::data(c), static_cast<std::size_t>(n) * sizeof(E));
    } else {
        // Room for as many elements as the bytes left could fill in memory: an element may
        // take far more memory than its encoding (an empty optional of a large array takes
        // one byte), so a count is trusted with memory only as its elements decode.
        if constexpr (requires { c.reserve(std::size_t{}); })
            c.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n, r.left / sizeof(E))));
        typename C::iterator last{};
        if constexpr (after_insertable<C>) last = c.before_begin();
        std::span<const std::byte> previous;
        for (std::uint64_t i = 0; i < n; ++i) {
            if constexpr (decodes_in_place<C, E>) {
                if (!get_value(r, c.emplace_back())) return false;
                continue;
            } else {
                element_holder<E> e;
                const std::byte* const start = r.p;
                if (!get_value(r, e.get())) return false;
                if constexpr (kind_of<C>() == value_kind::unordered) {
                    std::span<const std::byte> const current{start, r.p};
                    if (!in_canonical_order(previous, current)) return false;
                    previous = current;
                }
                if (!add_element(c, std::move(e.get()), last)) return false;
            }
        }
        return true;
    }
}

template <class V, std::size_t... I>
bool get_alternative(byte_reader& r, V& v, std::uint64_t index, std::index_sequence<I...>) {
    return ((index == I && get_value(r, v.template emplace<I>())) || ...);
}

template <class T>
bool get_value(byte_reader& r, T& v) {
    constexpr value_kind k = kind_of<T>();
    using enum value_kind;
    if constexpr (is_fixed_array_v<T>) {
        return get_fixed(r, v);
    } else if constexpr (adl::has_fields<T>) {
        return get_members(r, adl::mutable_fields(v));
    } else if constexpr (k == boolean) {
        std::uint8_t b = 0;
        return r.byte_at_most(1, b) && ((v = b == 1), true);
    } else if constexpr (k == bits) {
        return r.take(&v, sizeof v);
    } else if constexpr (k == long_double) {
        return r.take(&v, long_double_value_size<T>);
    } else if constexpr (k == empty) {
        std::uint8_t marker = 0;
        return r.byte_at_most(0, marker);
    } else if constexpr (k == duration) {
        typename T::rep count{};
        return get_value(r, count) && ((v = T(count)), true);
    } else if constexpr (k == time_point) {
        typename T::duration since_epoch{};
        return get_value(r, since_epoch) && ((v = T(since_epoch)), true);
    } else if constexpr (k == optional) {
        std::uint8_t engaged = 0;
        if (!r.byte_at_most(1, engaged)) return false;
        if (engaged == 0) return v.reset(), true;
        return get_value(r, v.emplace());
    } else if constexpr (k == variant) {
        std::uint64_t index = 0;
        return r.take(&index, sizeof index) && index < std::variant_size_v<T> &&
               get_alternative(r, v, index, std::make_index_sequence<std::variant_size_v<T>>{});
    } else if constexpr (k == tuple) {
        return get_members(r, v);
    } else if constexpr (k == unordered || k == range) {
        return get_container(r, v);
    } else if constexpr (k == aggregate) {
        return get_members(r, boost::pfr::structure_tie(v));
    } else {
        static_assert(always_false<T>,
                      "desync: internal error: get reached a type that is not encodable");
    }
}

// ---- sizes ----

template <class T>
std::size_t encoded_size_of(const T& v);

template <class Tuple>
std::size_t members_size(const Tuple& t) {
    if constexpr (std::tuple_size_v<Tuple> == 0)
        return 1;
    else
        return std::apply(
            [](const auto&... m) { return (std::size_t{0} + ... + encoded_size_of(m)); }, t);
}

template <class R>
std::size_t elements_size(const R& r) {
    if constexpr (bitwise_v<range_element_t<R>> && std::ranges::contiguous_range<const R>) {
        return std::ranges::size(r) * sizeof(range_element_t<R>);
    } else {
        std::size_t n = 0;
        for (const auto& e : r) n += encoded_size_of(e);
        return n;
    }
}

template <class T>
std::size_t encoded_size_of(const T& v) {
    constexpr value_kind k = kind_of<T>();
    using enum value_kind;
    if constexpr (is_fixed_array_v<T>)
        return fixed_extent_v<T> == 0 ? 1 : elements_size(v);
    else if constexpr (adl::has_fields<T>)
        return members_size(adl::fields(v));
    else if constexpr (k == boolean || k == empty)
        return 1;
    else if constexpr (k == bits || k == long_double)
        return min_encoded_size<T>();
    else if constexpr (k == duration)
        return encoded_size_of(v.count());
    else if constexpr (k == time_point)
        return encoded_size_of(v.time_since_epoch());
    else if constexpr (k == optional)
        return 1 + (v ? encoded_size_of(*v) : 0);
    else if constexpr (k == variant)
        return 8 + (v.valueless_by_exception()
                        ? 0
                        : std::visit([](const auto& a) { return encoded_size_of(a); }, v));
    else if constexpr (k == tuple)
        return members_size(v);
    else if constexpr (k == unordered || k == range)
        return 8 + elements_size(v);
    else if constexpr (k == aggregate)
        return members_size(boost::pfr::structure_tie(v));
    else
        static_assert(always_false<T>,
                      "desync: internal error: size_of reached a type that is not encodable");
}

// ---- the interface the memo table and the cache file use ----

template <class T>
constexpr void require_encodable() {
    static_assert(is_encodable_v<T>,
                  "desync: this type cannot be saved in a cache file: make it a default-"
                  "constructible aggregate or container of such, or give it desync_fields()");
}

/// Appends the encoding of v to out.
template <class T>
void encode(std::string& out, const T& v) {
    require_encodable<T>();
    put_value(out, v);
}

/// Decodes `in` into out; true only if the bytes are a T and all of them were used. On false,
/// out holds some valid value of T, not necessarily the one it had.
template <class T>
[[nodiscard]] bool decode(std::span<const std::byte> in, T& out) {
    require_encodable<T>();
    byte_reader r{in.data(), in.size()};
    return get_value(r, out) && r.left == 0;
}

/// The number of bytes encode(out, v) appends.
template <class T>
std::size_t encoded_size(const T& v) {
    require_encodable<T>();
    return encoded_size_of(v);
}

}  // namespace desync::detail
