#pragma once
// Out-of-line definitions of <desync/detail/cache/header.hpp>: included at its end when
// header-only, or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION,
// docs/compile-time.md).

#include <desync/detail/cache/header.hpp>

#include <bit>
#include <cstring>
#include <limits>
#include <version>

namespace desync::detail::cache_format {

DESYNC_DECL std::string compiler_name() {
#if defined(__clang__)
    std::string v = "clang " __clang_version__;
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
#elif defined(__GNUC__)
    return "GCC " __VERSION__;
#elif defined(_MSC_VER)
    return "MSVC " + std::to_string(_MSC_FULL_VER);
#else
    return "an unknown compiler";
#endif
}

DESYNC_DECL std::string library_name() {
#if defined(_LIBCPP_VERSION)
    return "libc++ " + std::to_string(_LIBCPP_VERSION) + " (ABI " +
           std::to_string(_LIBCPP_ABI_VERSION) + ")";
#elif defined(__GLIBCXX__)
    return "libstdc++ " + std::to_string(_GLIBCXX_RELEASE) +
           (_GLIBCXX_USE_CXX11_ABI ? " (C++11 ABI)" : " (old ABI)");
#elif defined(_MSVC_STL_VERSION)
    return "MSVC STL " + std::to_string(_MSVC_STL_VERSION);
#else
    return "an unknown standard library";
#endif
}

DESYNC_DECL std::string_view architecture() {
#if defined(__x86_64__) || defined(_M_X64)
    return "x86_64";
#elif defined(__aarch64__) || defined(_M_ARM64)
    return "aarch64";
#elif defined(__i386__) || defined(_M_IX86)
    return "i386";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv)
    return "riscv";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#else
    return "an unknown architecture";
#endif
}

DESYNC_DECL const std::string& fingerprint_v1() {
    static const std::string text = [] {
        auto bits = [](std::size_t bytes) { return std::to_string(8 * bytes); };
        return compiler_name() + ", " + library_name() + ", " + std::string(architecture()) +
               (std::endian::native == std::endian::little ? ", little-endian" : ", big-endian") +
               ", " + bits(sizeof(void*)) + "-bit pointers, " + bits(sizeof(long)) + "-bit long, " +
               bits(sizeof(wchar_t)) + "-bit wchar_t, long double with " +
               std::to_string(std::numeric_limits<long double>::digits) + "-bit mantissa";
    }();
    return text;
}

DESYNC_DECL const std::string& fingerprint() {
    static const std::string text =
        fingerprint_v1() +
        (std::numeric_limits<char>::is_signed ? ", signed char" : ", unsigned char") +
#if defined(__FAST_MATH__)
        ", fast math" +
#endif
        std::string();
    return text;
}

DESYNC_DECL std::uint64_t record_seed(std::uint32_t version, std::string_view salt) noexcept {
    if (version < 2) return 0;  // version 1: unseeded (XXH3-64's default seed is 0)
    const std::string& fp = fingerprint();
    return XXH3_64bits_withSeed(fp.data(), fp.size(), salt_hash(salt));
}

DESYNC_DECL void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

DESYNC_DECL std::uint64_t get_le(const std::byte* p, int bytes) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t(std::to_integer<unsigned>(p[i])) << (8 * i);
    return v;
}

DESYNC_DECL std::string make_header(std::string_view salt) {
    const std::string& fp = fingerprint();
    std::string out(reinterpret_cast<const char*>(magic), sizeof magic);
    put_le(out, format_version, 4);
    put_le(out, header_fixed + fp.size(), 4);
    put_le(out, salt_hash(salt), 8);
    put_le(out, fp.size(), 2);
    out += fp;
    put_le(out, XXH3_64bits(out.data(), out.size()), 8);
    return out;
}

DESYNC_DECL header_check read_header(std::span<const std::byte> file, std::string_view salt) {
    if (file.empty()) return refuse("it is empty");
    if (file.size() < sizeof magic || std::memcmp(file.data(), magic, sizeof magic) != 0)
        return refuse("it is not a desync cache file (bad magic)");
    if (file.size() < 12) return refuse("its header is truncated");
    auto const version = static_cast<std::uint32_t>(get_le(file.data() + 8, 4));
    if (version < oldest_format_version || version > format_version)
        return refuse("it has format version " + std::to_string(version) +
                      "; this build reads versions " + std::to_string(oldest_format_version) +
                      " to " + std::to_string(format_version));
    if (file.size() < header_fixed) return refuse("its header is truncated");
    std::uint64_t const size = get_le(file.data() + 12, 4);
    std::uint64_t const fp_size = get_le(file.data() + 24, 2);
    if (size != header_fixed + fp_size || size > file.size())
        return refuse("its header is damaged or truncated");
    if (XXH3_64bits(file.data(), size - 8) != get_le(file.data() + size - 8, 8))
        return refuse("its header is damaged (checksum mismatch)");
    std::string_view const theirs(reinterpret_cast<const char*>(file.data()) + 26, fp_size);
    const std::string& ours = version < 2 ? fingerprint_v1() : fingerprint();
    if (theirs != ours)
        return refuse("it was written by another build (" + std::string(theirs) +
                      "); this build is " + ours +
                      ": type names, value layouts and results may differ");
    if (get_le(file.data() + 16, 8) != salt_hash(salt))
        return refuse("it was saved with another salt");
    return {static_cast<std::size_t>(size), {}, record_seed(version, salt), version};
}

}  // namespace desync::detail::cache_format
