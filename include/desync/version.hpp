#pragma once
/// \file
/// `desync::version`: what a desync function is, as hashes of its source (major) and of the
/// functions it calls (minor), numbered major.minor relative to a saved earlier version.

#include <desync/detail/core/attributes.hpp>

#include <charconv>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace desync {

/// A function's version. `major_hash` covers its name and normalized source; `minor_hash`
/// holds the full hashes of the desync functions it calls (and of the values it `uses`), in
/// order of first mention. The numbers count changes relative to a base given to set_version.
struct version {
    std::uint64_t major_hash = 0;           ///< hash of the name and normalized source
    std::vector<std::uint64_t> minor_hash;  ///< full hashes of callees and `uses` values
    int major_version = 1;                  ///< bumped when the function's own source changes
    int minor_version = 0;                  ///< bumped when only something it calls changes

    friend bool operator==(const version&, const version&) = default;
};

/// "major.minor", e.g. "1.0".
DESYNC_DECL std::string to_string(const version& v);

/// Numbers `current` relative to `old`: same hashes keep old's numbers; a changed minor hash
/// only bumps the minor number; a changed major hash bumps the major number and resets minor.
DESYNC_DECL version renumber(version current, const version& old);

namespace detail {

DESYNC_DECL void write_hex(std::ostream& os, std::uint64_t h);

template <class T>
bool parse_number(std::string_view s, T& out, int base) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && end == s.data() + s.size();
}

DESYNC_DECL bool parse_minor_list(std::string_view line, std::vector<std::uint64_t>& out);

}  // namespace detail

/// Writes the four fields as four lines: major hash (16 hex digits); minor hashes, comma
/// separated (an empty line if none); major number; minor number.
DESYNC_DECL std::ostream& operator<<(std::ostream& os, const version& v);

/// Reads what operator<< wrote. Malformed text sets failbit and leaves `v` unchanged.
DESYNC_DECL std::istream& operator>>(std::istream& is, version& v);

}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/version.ipp>
#endif
