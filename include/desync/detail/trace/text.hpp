#pragma once
// Text for the trace writers: escaping for JSON strings, Graphviz quoted strings and XML, and
// numbers written the same way whatever the locale.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <desync/detail/core/attributes.hpp>
#include <ostream>
#include <string>
#include <string_view>

namespace desync::detail {

/// Length of the valid UTF-8 sequence at s[i], or 0 if the bytes there are not one.
DESYNC_DECL std::size_t utf8_length(std::string_view s, std::size_t i) noexcept;

/// Calls out(piece) for each valid UTF-8 sequence, and out("") for each byte that is not one.
template <class Out>
void for_each_utf8(std::string_view s, Out&& out) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_length(s, i);
        out(s.substr(i, n));
        i += n ? n : 1;
    }
}

/// A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD.
DESYNC_DECL std::string json_quote(std::string_view s);

/// A Graphviz quoted string (an id or a label), quotes included: backslashes and quotes are
/// escaped, line breaks become \n, other control bytes and invalid UTF-8 become '?'.
DESYNC_DECL std::string dot_quote(std::string_view s);

/// XML text or attribute content; control bytes and invalid UTF-8 become '?'.
DESYNC_DECL std::string xml_escape(std::string_view s);

/// Nanoseconds as microseconds with three decimals (exact): 1234567 -> "1234.567".
DESYNC_DECL std::string micros(std::int64_t ns);

/// A number with a fixed count of decimals, written without the C locale's help (a locale with
/// a decimal comma would break SVG coordinates).
DESYNC_DECL std::string fixed(double v, int decimals = 1);

/// A duration for people, three significant digits: "2.00 s", "15.3 ms", "820 µs".
DESYNC_DECL std::string human_duration(std::int64_t ns);

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/text.ipp>
#endif
