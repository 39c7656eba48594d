#pragma once
// Out-of-line definitions of <desync/detail/trace/text.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/trace/text.hpp>

namespace desync::detail {

DESYNC_DECL std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = at(i);
    if (c < 0x80) return 1;
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((at(i + k) & 0xC0) != 0x80) return 0;
    const unsigned char d = at(i + 1);  // overlong forms, surrogates, beyond U+10FFFF
    if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) ||
        (c == 0xF4 && d > 0x8F))
        return 0;
    return n;
}

DESYNC_DECL std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for_each_utf8(s, [&](std::string_view piece) {
        if (piece.empty()) return void(out += "\\ufffd");
        switch (const char c = piece[0]) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) >= 0x20) {
                    out += piece;
                } else {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned>(c));
                    out += hex;
                }
        }
    });
    return out += '"';
}

DESYNC_DECL std::string dot_quote(std::string_view s) {
    std::string out = "\"";
    for_each_utf8(s, [&](std::string_view piece) {
        switch (const char c = piece.empty() ? '\x01' : piece[0]) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += static_cast<unsigned char>(c) < 0x20 ? std::string_view("?") : piece;
        }
    });
    return out += '"';
}

DESYNC_DECL std::string xml_escape(std::string_view s) {
    std::string out;
    for_each_utf8(s, [&](std::string_view piece) {
        switch (const char c = piece.empty() ? '\x01' : piece[0]) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            case '\n':
                out += "&#10;";
                break;
            default:
                out += static_cast<unsigned char>(c) < 0x20 ? std::string_view("?") : piece;
        }
    });
    return out;
}

DESYNC_DECL std::string micros(std::int64_t ns) {
    char text[40];
    const char* sign = ns < 0 ? "-" : "";
    const auto v = static_cast<unsigned long long>(ns < 0 ? -ns : ns);
    std::snprintf(text, sizeof text, "%s%llu.%03llu", sign, v / 1000, v % 1000);
    return text;
}

DESYNC_DECL std::string fixed(double v, int decimals) {
    long long scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    const long long n = std::llround(v * static_cast<double>(scale));
    const unsigned long long a = static_cast<unsigned long long>(n < 0 ? -n : n);
    std::string out =
        (n < 0 ? "-" : "") + std::to_string(a / static_cast<unsigned long long>(scale));
    if (decimals > 0) {
        std::string frac = std::to_string(a % static_cast<unsigned long long>(scale));
        out += '.' + std::string(static_cast<std::size_t>(decimals) - frac.size(), '0') + frac;
    }
    return out;
}

DESYNC_DECL std::string human_duration(std::int64_t ns) {
    if (ns < 1000) return std::to_string(ns) + " ns";
    const char* unit = ns >= 1'000'000'000 ? " s" : ns >= 1'000'000 ? " ms" : " \u00b5s";
    const double scale = ns >= 1'000'000'000 ? 1e9 : ns >= 1'000'000 ? 1e6 : 1e3;
    const double v = static_cast<double>(ns) / scale;
    return fixed(v, v < 10 ? 2 : v < 100 ? 1 : 0) + unit;
}

}  // namespace desync::detail
