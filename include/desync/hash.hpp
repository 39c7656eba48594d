#pragma once
/// \file
/// Hashing of argument values (docs/hashing.md): one traversal, hash_append style (N3980), into a
/// 128-bit XXH3 digest, plus stable type identities.
///
/// What a value writes to the stream:
/// - bool: one byte, 0 or 1; integers, characters, enums (their underlying value), float and
///   double: the object's bytes. Floats hash by BIT PATTERN: -0.0 and +0.0 differ, and NaNs with
///   different payloads differ. A memo false hit is a wrong answer while a miss only costs time,
///   and 1/x tells -0.0 from +0.0. long double: the bytes of its value, without padding.
/// - ranges: the element count (std::uint64_t), then the elements. Ranges of integers,
///   characters, enums, bools, floats or doubles write the count and the element size (both
///   std::uint64_t), then the elements' bytes: in one write when contiguous. Strings and string
///   views are such ranges, so {"ab","c"} and {"a","bc"} differ.
/// - unordered containers: the count, then the sum (mod 2^128) of each element's own digest,
///   so the result does not depend on iteration order; duplicates in multi-containers count.
/// - pair and tuple: the elements; optional: a 0/1 byte, then the value; variant: the index
///   (std::uint64_t, variant_npos when valueless), then the alternative; monostate: nothing;
///   chrono duration: the count, then the period's num and den; time_point: its duration.
/// - aggregates: their fields in order, through Boost.PFR (a reference member hashes the value
///   it refers to; not with a base class, a C array member or bit-fields: use desync_fields()).
/// - user types, first choice: `hash_append(H& h, const T& v)` found by ADL (call
///   `desync::hash_append(h, member)` inside it, qualified); second: `desync_fields(const T& v)`
///   found by ADL, returning std::tie(the members that make up the value).
/// Refused at compile time: raw, member and smart pointers, nullptr_t, reference_wrapper, and
/// types with no way to hash. Types are not part of hash_value: the memo key adds type_id<T>().

#include <desync/detail/hash/enum_shape.hpp>
#include <desync/detail/hash/value_kind.hpp>
#include <desync/xxhash.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace desync {

class hasher;

namespace detail {
/// Notes in `h` an enum value outside desync::enum_range.
template <class E>
void check_enum(hasher& h, E v) noexcept;
}  // namespace detail

/// Accumulates a byte stream; digest() is XXH3-128 of exactly the bytes written so far.
/// Short streams stay in an inline buffer (one-shot XXH3); long ones switch to streaming XXH3.
class hasher {
public:
    hasher() noexcept = default;

    /// Appends n bytes at data to the stream.
    void write(const void* data, std::size_t n) noexcept {
        if (n <= capacity - used_) [[likely]] {
            std::memcpy(buffer_ + used_, data, n);
            used_ += n;
        } else {
            spill(data, n);
        }
    }
    /// The N3980 spelling of write().
    void operator()(const void* data, std::size_t n) noexcept { write(data, n); }

    /// True once an enum value outside desync::enum_range was written: a memo key cannot see
    /// what it means (it might name an enumerator the enum's shape does not cover).
    bool saw_unranged_enum() const noexcept { return unranged_enum_; }

    /// XXH3_128bits of the stream so far; writing may continue afterwards.
    [[nodiscard]] hash128 digest() const noexcept {
        if (!streaming_) return detail::xxh3_128_runtime(used_ != 0 ? buffer_ : nullptr, used_);
        flush();
        return stream_.digest();
    }

private:
    static constexpr std::size_t capacity = 512;

    void flush() const noexcept {
        stream_.update(used_ != 0 ? buffer_ : nullptr, used_);
        used_ = 0;
    }
    void spill(const void* data, std::size_t n) noexcept {
        if (!streaming_) {
            stream_.reset();
            streaming_ = true;
        }
        flush();
        if (n >= capacity) return stream_.update(data, n);
        std::memcpy(buffer_, data, n);
        used_ = n;
    }

    // Mutable: digest() moves buffered bytes into the stream, which changes no result.
    mutable detail::xxh3_128_stream stream_{detail::no_init_t{}};
    mutable std::size_t used_ = 0;
    bool streaming_ = false;
    mutable unsigned char buffer_[capacity];
    bool unranged_enum_ = false;

    template <class E>
    friend void detail::check_enum(hasher& h, E v) noexcept;
};

namespace detail {

/// Whether T can be hashed, and if not, why (Seen: the types that contain T, for recursion).
template <class T, class... Seen>
struct hash_check {
    static constexpr verdict value = [] {
        constexpr value_kind k = kind_of<T>();
        using enum value_kind;
        if constexpr (seen_v<T, Seen...>)
            return verdict::recursive;
        else if constexpr (k == pointer)
            return verdict::pointer;
        else if constexpr (k == none)
            return verdict::none;
        else if constexpr (k == unreflectable)
            return verdict::unreflectable;
        else if constexpr (k == fields)
            return components_verdict<hash_check, fields_t<T>, T, Seen...>::value;
        else if constexpr (k == aggregate)
            return components_verdict<hash_check, pfr_fields_t<T>, T, Seen...>::value;
        else if constexpr (k == variant || k == tuple)
            return components_verdict<hash_check, T, T, Seen...>::value;
        else if constexpr (k == optional)
            return hash_check<typename T::value_type, T, Seen...>::value;
        else if constexpr (k == range || k == unordered)
            return hash_check<range_element_t<T>, T, Seen...>::value;
        else if constexpr (k == duration)
            return hash_check<typename T::rep, T, Seen...>::value;
        else if constexpr (k == time_point)
            return hash_check<typename T::duration, T, Seen...>::value;
        else
            return verdict::ok;  // user_hash, boolean, bits, long_double, empty
    }();
};

template <class T>
void append_value(hasher& h, const T& v);

template <class E>
void check_enum(hasher& h, E v) noexcept {
    if (!enum_in_range(v)) h.unranged_enum_ = true;
}

inline void append_u64(hasher& h, std::uint64_t n) { h.write(&n, sizeof n); }

template <class R>
void append_range(hasher& h, const R& r) {
    std::uint64_t const n = element_count(r);
    if constexpr (bitwise_v<range_element_t<R>>) {
        // 16 bytes ahead of the elements: when the range opens the stream, XXH3 then reads its
        // bytes 16-byte aligned (as it reads a vector's own data), which is measurably faster.
        std::uint64_t const head[2] = {n, sizeof(range_element_t<R>)};
        h.write(head, sizeof head);
    } else {
        append_u64(h, n);
    }
    if constexpr (bulk_range<R>) {
        if constexpr (std::is_enum_v<range_element_t<R>>)
            for (const auto& e : r) check_enum(h, e);
        if (n != 0) h.write(std::ranges::data(r), n * sizeof(range_element_t<R>));
    } else {
        for (const auto& e : r) append_value(h, e);
    }
}

constexpr void add_to(hash128& sum, hash128 d) {
    sum.low += d.low;
    sum.high += d.high + (sum.low < d.low);
}

template <class C>
void append_unordered(hasher& h, const C& c) {
    hash128 sum{};
    for (const auto& e : c) {
        hasher one;
        append_value(one, e);
        add_to(sum, one.digest());
    }
    append_u64(h, element_count(c));
    append_u64(h, sum.low);
    append_u64(h, sum.high);
}

template <class Tuple>
void append_tuple(hasher& h, const Tuple& t) {
    std::apply([&h](const auto&... e) { (append_value(h, e), ...); }, t);
}

template <class O>
void append_optional(hasher& h, const O& o) {
    append_value(h, o.has_value());
    if (o) append_value(h, *o);
}

template <class V>
void append_variant(hasher& h, const V& v) {
    append_u64(h, static_cast<std::uint64_t>(v.index()));
    if (!v.valueless_by_exception()) std::visit([&h](const auto& a) { append_value(h, a); }, v);
}

template <class T>
void append_value(hasher& h, const T& v) {
    constexpr value_kind k = kind_of<T>();
    using enum value_kind;
    if constexpr (k == user_hash)
        adl::call_hash_append(h, v);
    else if constexpr (k == fields)
        append_tuple(h, adl::fields(v));
    else if constexpr (k == aggregate)
        append_tuple(h, boost::pfr::structure_tie(v));
    else if constexpr (k == boolean)
        h.write(v ? "\1" : "\0", 1);
    else if constexpr (k == bits) {
        if constexpr (std::is_enum_v<T>) check_enum(h, v);
        h.write(&v, sizeof v);
    } else if constexpr (k == long_double)
        h.write(&v, long_double_value_size<T>);
    else if constexpr (k == empty)
        return;
    else if constexpr (k == duration)
        append_tuple(h, std::tuple{v.count(), T::period::num, T::period::den});
    else if constexpr (k == time_point)
        append_value(h, v.time_since_epoch());
    else if constexpr (k == optional)
        append_optional(h, v);
    else if constexpr (k == variant)
        append_variant(h, v);
    else if constexpr (k == tuple)
        append_tuple(h, v);
    else if constexpr (k == unordered)
        append_unordered(h, v);
    else if constexpr (k == range)
        append_range(h, v);
    else
        static_assert(always_false<T>,
                      "desync: internal error: hash_append reached an unhashable type");
}

/// desync::hash_append: an object, not a function, so that ADL never finds it in place of a
/// user's hash_append; misuse stops here with the reason and the fix.
struct hash_append_fn {
    template <class T>
    void operator()(hasher& h, const T& v) const {
        constexpr verdict why = hash_check<T>::value;
        if constexpr (why == verdict::ok)
            append_value(h, v);
        else if constexpr (why == verdict::pointer)
            static_assert(always_false<T>,
                          "desync: cannot hash a raw pointer: an address means nothing in another "
                          "run; pass the value, or use desync::uncached");
        else if constexpr (why == verdict::recursive)
            static_assert(always_false<T>,
                          "desync: cannot hash a type that contains itself: give it hash_append() "
                          "found by ADL, or use desync::uncached");
        else if constexpr (why == verdict::unreflectable)
            static_assert(always_false<T>,
                          "desync: Boost.PFR cannot see the fields of an aggregate with a base "
                          "class or a C array member: give it desync_fields() or hash_append() "
                          "found by ADL, or use desync::uncached");
        else
            static_assert(always_false<T>,
                          "desync: no hash for this type: make it an aggregate, or give it "
                          "desync_fields() or hash_append() found by ADL, or use desync::uncached");
    }
};

}  // namespace detail

/// True iff values of T can be hashed; never a hard error, so code can branch on it.
template <class T>
concept hashable = detail::hash_check<std::remove_cvref_t<T>>::value == detail::verdict::ok;

/// Appends the value v to h's stream, as described at the top of this header.
inline constexpr detail::hash_append_fn hash_append{};

/// The 128-bit hash of the values, in order (their types are not part of it).
template <class... Ts>
[[nodiscard]] hash128 hash_value(const Ts&... values) {
    hasher h;
    (hash_append(h, values), ...);
    return h.digest();
}

namespace detail {

template <class T>
constexpr std::string_view raw_type_name() noexcept {
#if defined(_MSC_VER) && !defined(__clang__)
    return __FUNCSIG__;
#else
    return __PRETTY_FUNCTION__;
#endif
}

// Where the type sits in the compiler's function name, measured on a known type.
inline constexpr std::string_view type_name_probe = raw_type_name<double>();
inline constexpr std::size_t type_name_prefix = type_name_probe.find("double");
inline constexpr std::size_t type_name_suffix = type_name_probe.size() - type_name_prefix - 6;

template <class T>
inline constexpr std::string_view type_name_v = raw_type_name<T>().substr(
    type_name_prefix, raw_type_name<T>().size() - type_name_prefix - type_name_suffix);

template <class T>
inline constexpr std::uint64_t type_id_v = constexpr_xxh3_64(type_name_v<T>);

}  // namespace detail

/// The compiler's name of T, e.g. "std::vector<int>" (spelling varies by compiler), for messages.
template <class T>
constexpr std::string_view type_name() noexcept {
    return detail::type_name_v<T>;
}

/// A stable identity of T: XXH3-64 of type_name<T>(), the same in every run of the same build.
/// Types with equal names collide (gcc names two lambdas of one function alike; anonymous
/// namespaces of different files look alike), which matters only if both meet in one key.
template <class T>
constexpr std::uint64_t type_id() noexcept {
    return detail::type_id_v<T>;
}

}  // namespace desync
