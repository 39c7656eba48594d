#pragma once
// Out-of-line definitions of <desync/detail/memo/record.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/record.hpp>

namespace desync::detail::cache_format {

DESYNC_DECL std::size_t begin_record(std::string& out, const record_head& h,
                                     std::span<const hash128> children) {
    std::size_t const start = out.size();
    char head[at_child_keys];  // one append: a save writes millions of small records
    auto put = [&head](std::size_t at, const auto& v) { std::memcpy(head + at, &v, sizeof v); };
    put(0, marker);
    put(at_length, std::uint64_t{0});  // the value's length, once known
    put(at_key, h.key.low), put(at_key + 8, h.key.high);
    put(at_type, h.type), put(at_duration, h.duration_ns);
    put(at_callee, h.callee), put(at_deps, h.deps_ref);
    put(at_children, static_cast<std::uint64_t>(children.size()));
    out.append(head, sizeof head);
    for (const hash128& c : children) {
        out.append(reinterpret_cast<const char*>(&c.low), 8);
        out.append(reinterpret_cast<const char*>(&c.high), 8);
    }
    return start;
}

DESYNC_DECL void finish_record(std::string& out, std::size_t start, std::uint64_t seed) {
    std::uint64_t children = 0;
    std::memcpy(&children, out.data() + start + at_children, 8);
    std::uint64_t const length = out.size() - start - at_child_keys - 16 * children;
    std::memcpy(out.data() + start + at_length, &length, 8);
    std::uint64_t const sum = XXH3_64bits_withSeed(out.data() + start, out.size() - start, seed);
    out.append(reinterpret_cast<const char*>(&sum), 8);
}

DESYNC_DECL void copy_record(std::string& out, const record_view& r, std::uint64_t seed) {
    std::size_t const body = r.size() - 8;
    out.append(reinterpret_cast<const char*>(r.at), body);
    std::uint64_t const sum = XXH3_64bits_withSeed(r.at, body, seed);
    out.append(reinterpret_cast<const char*>(&sum), 8);
}

DESYNC_DECL std::size_t check_record(const std::byte* p, std::size_t left, std::uint64_t seed,
                                     std::size_t& hashed, record_layout layout) noexcept {
    std::size_t const overhead = layout.child_keys + 8;
    if (left < overhead || load_u32(p) != marker) return 0;
    std::uint64_t const room = left - overhead;
    std::uint64_t const children = load_u64(p + layout.children);
    std::uint64_t const length = load_u64(p + at_length);
    if (children > room / 16 || length > room - 16 * children) return 0;
    std::size_t const body = layout.child_keys + static_cast<std::size_t>(16 * children + length);
    hashed += body;
    if (XXH3_64bits_withSeed(p, body, seed) != load_u64(p + body)) return 0;
    return body + 8;
}

DESYNC_DECL const std::byte* find_marker(const std::byte* p, const std::byte* end) noexcept {
    unsigned char m[4];
    std::memcpy(m, &marker, 4);
    while (end - p >= 4) {
        auto* hit = static_cast<const std::byte*>(std::memchr(p, m[0], end - p - 3));
        if (!hit) break;
        if (std::memcmp(hit, m, 4) == 0) return hit;
        p = hit + 1;
    }
    return end;
}

}  // namespace desync::detail::cache_format
