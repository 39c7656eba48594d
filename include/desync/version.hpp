#pragma once
/// \file
/// `desync::version`: what a desync function is, as hashes of its source (major) and of the
/// functions it calls (minor), numbered major.minor relative to a saved earlier version.

#include <charconv>
#include <cstdint>
#include <istream>
#include <ostream>
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
inline std::string to_string(const version& v) {
    return std::to_string(v.major_version) + "." + std::to_string(v.minor_version);
}

/// Numbers `current` relative to `old`: same hashes keep old's numbers; a changed minor hash
/// only bumps the minor number; a changed major hash bumps the major number and resets minor.
inline version renumber(version current, const version& old) {
    if (current.major_hash != old.major_hash) {
        current.major_version = old.major_version + 1;
        current.minor_version = 0;
    } else if (current.minor_hash != old.minor_hash) {
        current.major_version = old.major_version;
        current.minor_version = old.minor_version + 1;
    } else {
        current.major_version = old.major_version;
        current.minor_version = old.minor_version;
    }
    return current;
}

namespace detail {

inline void write_hex(std::ostream& os, std::uint64_t h) {
    char buf[16];
    for (int i = 15; i >= 0; --i, h >>= 4) buf[i] = "0123456789abcdef"[h & 15];
    os.write(buf, 16);
}

template <class T>
bool parse_number(std::string_view s, T& out, int base) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && end == s.data() + s.size();
}

inline bool parse_minor_list(std::string_view line, std::vector<std::uint64_t>& out) {
    out.clear();
    if (line.empty()) return true;
    for (;;) {
        auto comma = line.find(',');
        std::uint64_t h = 0;
        if (line.substr(0, comma).size() != 16 || !parse_number(line.substr(0, comma), h, 16))
            return false;
        out.push_back(h);
        if (comma == std::string_view::npos) return true;
        line.remove_prefix(comma + 1);
    }
}

}  // namespace detail

/// Writes the four fields as four lines: major hash (16 hex digits); minor hashes, comma
/// separated (an empty line if none); major number; minor number.
inline std::ostream& operator<<(std::ostream& os, const version& v) {
    detail::write_hex(os, v.major_hash);
    os << '\n';
    for (std::size_t i = 0; i < v.minor_hash.size(); ++i) {
        if (i) os << ',';
        detail::write_hex(os, v.minor_hash[i]);
    }
    return os << '\n' << v.major_version << '\n' << v.minor_version << '\n';
}

/// Reads what operator<< wrote. Malformed text sets failbit and leaves `v` unchanged.
inline std::istream& operator>>(std::istream& is, version& v) {
    std::string lines[4];
    for (auto& line : lines)
        if (!std::getline(is, line)) {
            is.setstate(std::ios::failbit);
            return is;
        }
    version read;
    bool ok = lines[0].size() == 16 && detail::parse_number(lines[0], read.major_hash, 16) &&
              detail::parse_minor_list(lines[1], read.minor_hash) &&
              detail::parse_number(lines[2], read.major_version, 10) &&
              detail::parse_number(lines[3], read.minor_version, 10) && read.major_version >= 1 &&
              read.minor_version >= 0;
    if (ok)
        v = std::move(read);
    else
        is.setstate(std::ios::failbit);
    return is;
}

}  // namespace desync
