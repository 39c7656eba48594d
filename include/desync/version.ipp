#pragma once
// Out-of-line definitions of <desync/version.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/version.hpp>

#include <istream>
#include <ostream>
#include <utility>

namespace desync {

DESYNC_DECL std::string to_string(const version& v) {
    return std::to_string(v.major_version) + "." + std::to_string(v.minor_version);
}

DESYNC_DECL version renumber(version current, const version& old) {
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

DESYNC_DECL void write_hex(std::ostream& os, std::uint64_t h) {
    char buf[16];
    for (int i = 15; i >= 0; --i, h >>= 4) buf[i] = "0123456789abcdef"[h & 15];
    os.write(buf, 16);
}

DESYNC_DECL bool parse_minor_list(std::string_view line, std::vector<std::uint64_t>& out) {
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

DESYNC_DECL std::ostream& operator<<(std::ostream& os, const version& v) {
    detail::write_hex(os, v.major_hash);
    os << '\n';
    for (std::size_t i = 0; i < v.minor_hash.size(); ++i) {
        if (i) os << ',';
        detail::write_hex(os, v.minor_hash[i]);
    }
    return os << '\n' << v.major_version << '\n' << v.minor_version << '\n';
}

DESYNC_DECL std::istream& operator>>(std::istream& is, version& v) {
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
