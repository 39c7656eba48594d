#pragma once
/// \file
/// Source normalization for version hashes (docs/versions.md): the text of a stringified callable,
/// re-tokenized so that whitespace and comments do not count while every token does.
///
/// Token rules (a C++ preprocessing-token lexer, maximal munch):
/// - whitespace, `// ...` to end of line and `/* ... */` separate tokens and are dropped;
/// - identifiers: [A-Za-z_$] and bytes >= 0x80, then also digits;
/// - numbers (pp-number): a digit, or `.` and a digit, then digits, letters, `_`, `.`,
///   digit separators (`1'000`) and exponent signs after e/E/p/P (`1e+5`, `0x1p-3`);
/// - string and character literals with their encoding prefix (u8, u, U, L), raw strings
///   (`R"d(...)d"`, also u8R, uR, UR, LR) and a user-defined suffix (`"x"sv`), kept byte for byte;
/// - punctuators, longest match: `::` `...` `->*` `<=>` `<<=` `>>=` `##`, the two-character
///   ones, digraphs (`<:` with the `<::` rule, `%:%:`); any other byte is a token of its own.
///
/// Limits of constant evaluation, with the compilers' default limits: clang (1,048,576 steps)
/// hashes about 45 KB of typical lambda text, g++ more; tests/test_normalize.cpp hashes 23 KB
/// at compile time with both.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/version/site.hpp>
#include <desync/xxhash.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace desync::detail {

enum : std::uint8_t { cc_space = 1, cc_ident = 2, cc_digit = 4 };

// A C array, not std::array: clang charges constexpr steps for every std::array::operator[].
struct char_table {
    std::uint8_t of[256];
};

inline constexpr char_table char_classes = [] {
    char_table t{};
    for (unsigned char c : std::string_view{" \t\n\r\v\f"}) t.of[c] = cc_space;
    for (int c = 'a'; c <= 'z'; ++c) t.of[c] = t.of[c - 'a' + 'A'] = cc_ident;
    for (int c = '0'; c <= '9'; ++c) t.of[c] = cc_digit;
    for (int c = 0x80; c < 256; ++c) t.of[c] = cc_ident;  // UTF-8 in identifiers
    t.of[static_cast<unsigned char>('_')] = t.of[static_cast<unsigned char>('$')] = cc_ident;
    return t;
}();

/// What a token is; the hash does not use it, identifiers() does.
enum class token_kind : std::uint8_t { identifier, number, literal, punctuator };

/// A token that starts where the caller asked and ends before `end`.
struct source_token {
    std::size_t end;
    token_kind kind;
};

// The text as pointer and size: string_view::operator[] costs clang five constexpr steps a call.
struct source_text {
    const char* p;
    std::size_t n;
    constexpr char at(std::size_t i) const { return i < n ? p[i] : '\0'; }
    constexpr std::uint8_t cls(std::size_t i) const {
        return i < n ? char_classes.of[static_cast<std::uint8_t>(p[i])] : 0;
    }
    constexpr std::size_t find(std::string_view what, std::size_t from) const {
        std::size_t const at = std::string_view{p, n}.find(what, from);
        return at == std::string_view::npos ? n : at;
    }
};

// Past whitespace and comments from i.
constexpr std::size_t skip_blank(source_text t, std::size_t i) {
    for (;;) {
        while (i < t.n && (char_classes.of[static_cast<std::uint8_t>(t.p[i])] & cc_space)) ++i;
        if (t.at(i) != '/' || (t.at(i + 1) != '/' && t.at(i + 1) != '*')) return i;
        i = t.p[i + 1] == '/' ? t.find("\n", i) : std::min(t.find("*/", i + 2) + 2, t.n);
    }
}

constexpr std::size_t ident_end(source_text t, std::size_t i) {
    while (i < t.n && (char_classes.of[static_cast<std::uint8_t>(t.p[i])] & (cc_ident | cc_digit)))
        ++i;
    return i;
}

constexpr bool exponent_sign(source_text t, std::size_t i) {
    char const c = t.p[i], e = t.p[i - 1];
    return (c == '+' || c == '-') && (e == 'e' || e == 'E' || e == 'p' || e == 'P');
}

constexpr std::size_t number_end(source_text t, std::size_t i) {
    for (++i; i < t.n; ++i) {
        if (char_classes.of[static_cast<std::uint8_t>(t.p[i])] & (cc_ident | cc_digit)) continue;
        if (t.p[i] == '.' || exponent_sign(t, i)) continue;
        if (t.p[i] != '\'' || !(t.cls(i + 1) & (cc_ident | cc_digit))) break;
        ++i;  // a digit separator and the digit after it
    }
    return i;
}

// From an opening quote at i to past its closing quote; an unterminated literal runs to the end.
constexpr std::size_t quoted_end(source_text t, std::size_t i) {
    char const quote = t.p[i];
    for (++i; i < t.n; ++i) {
        if (t.p[i] == '\\')
            ++i;
        else if (t.p[i] == quote)
            return i + 1;
    }
    return t.n;
}

// From the quote of R"delim( ... )delim" to past its closing quote.
constexpr std::size_t raw_end(source_text t, std::size_t i) {
    std::size_t const open = t.find("(", i);
    std::string_view const all{t.p, t.n}, delim = all.substr(i + 1, open - std::min(open, i + 1));
    for (std::size_t j = t.find(")", open); j < t.n; j = t.find(")", j + 1))
        if (all.substr(j + 1, delim.size()) == delim && t.at(j + 1 + delim.size()) == '"')
            return j + 2 + delim.size();
    return t.n;
}

// Whether identifier p directly before `quote` is an encoding prefix (u8, u, U, L, and R forms).
constexpr bool is_literal_prefix(std::string_view p, char quote) {
    if (quote == '"' && p.ends_with('R')) p.remove_suffix(1);
    return p.empty() ? quote == '"' : p == "u8" || p == "u" || p == "U" || p == "L";
}

constexpr std::size_t punctuator_length(source_text t, std::size_t i) {
    char const b = t.at(i + 1), c = t.at(i + 2);
    switch (t.p[i]) {
        case ':':
            return b == ':' || b == '>' ? 2 : 1;
        case '.':
            return b == '.' && c == '.' ? 3 : b == '*' ? 2 : 1;
        case '-':
            return b == '>' ? (c == '*' ? 3 : 2) : b == '-' || b == '=' ? 2 : 1;
        case '+':
            return b == '+' || b == '=' ? 2 : 1;
        case '&':
            return b == '&' || b == '=' ? 2 : 1;
        case '|':
            return b == '|' || b == '=' ? 2 : 1;
        case '#':
            return b == '#' ? 2 : 1;
        case '>':
            return b == '>' ? (c == '=' ? 3 : 2) : b == '=' ? 2 : 1;
        case '<':
            if (b == '<' || b == '=') return c == (b == '<' ? '=' : '>') ? 3 : 2;
            if (b == ':')
                return c == ':' && t.at(i + 3) != ':' && t.at(i + 3) != '>' ? 1 : 2;  // <::
            return b == '%' ? 2 : 1;
        case '%':
            if (b == ':') return c == '%' && t.at(i + 3) == ':' ? 4 : 2;
            return b == '=' || b == '>' ? 2 : 1;
        case '=':
        case '!':
        case '*':
        case '/':
        case '^':
            return b == '=' ? 2 : 1;
        default:
            return 1;
    }
}

// A literal whose prefix (if any) ends before its quote at q.
constexpr std::size_t literal_end(source_text t, std::size_t q, bool raw) {
    return ident_end(t, raw ? raw_end(t, q) : quoted_end(t, q));  // with its ud-suffix
}

/// The token that starts at t.p[i] (i is not blank).
constexpr source_token next_token(source_text t, std::size_t i) {
    std::uint8_t const cls = char_classes.of[static_cast<std::uint8_t>(t.p[i])];
    if ((cls & cc_digit) || (t.p[i] == '.' && (t.cls(i + 1) & cc_digit)))
        return {number_end(t, i), token_kind::number};
    if (t.p[i] == '"' || t.p[i] == '\'') return {literal_end(t, i, false), token_kind::literal};
    if (!(cls & cc_ident)) return {i + punctuator_length(t, i), token_kind::punctuator};
    std::size_t const e = ident_end(t, i);
    char const q = t.at(e);
    if ((q != '"' && q != '\'') || !is_literal_prefix({t.p + i, e - i}, q))
        return {e, token_kind::identifier};
    return {literal_end(t, e, q == '"' && t.p[e - 1] == 'R'), token_kind::literal};
}

// A token in the hashed stream: its length (one byte, or 255 and four more), then its bytes,
// so that token boundaries count (`x+ +y` is not `x++y`).
constexpr void hash_token(xxh64_stream& h, const char* p, std::size_t n) {
    if (n < 255) {
        h.byte(n);
    } else {
        h.byte(255);
        for (int k = 0; k < 32; k += 8) h.byte((n >> k) & 0xFF);
    }
    h.bytes(p, n);
}

/// The major-hash part of a version: XXH64 (seed 0) of the stream: the qualified name (as one
/// token), then every token of `text`, each written as length and bytes. Spacing and comments
/// between tokens do not count.
constexpr std::uint64_t source_hash(definition_site site, std::string_view name,
                                    std::string_view text) {
    xxh64_stream h;
    std::size_t const n =
        site.scope.size() + name.size() + (site.file.empty() ? 0 : 1 + site.file.size());
    if (n < 255) {
        h.byte(n);
    } else {
        h.byte(255);
        for (int k = 0; k < 32; k += 8) h.byte((n >> k) & 0xFF);
    }
    h.bytes(site.scope.data(), site.scope.size());
    h.bytes(name.data(), name.size());
    if (!site.file.empty()) {
        h.byte('@');
        h.bytes(site.file.data(), site.file.size());
    }
    source_text const t{text.data(), text.size()};
    for (std::size_t i = skip_blank(t, 0); i < t.n;) {
        std::size_t const end = next_token(t, i).end;
        hash_token(h, t.p + i, end - i);
        i = skip_blank(t, end);
    }
    return h.digest();
}

/// source_hash of a function named `name` at global scope.
constexpr std::uint64_t source_hash(std::string_view name, std::string_view text) {
    return source_hash(definition_site{}, name, text);
}

/// The tokens of `text` in order, as views into it (for tests and diagnostics).
DESYNC_DECL std::vector<std::string_view> source_tokens(std::string_view text);

// C++20 keywords and alternative tokens, sorted; contextual keywords (final, override, import,
// module) are valid names and are not here.
// clang-format off
inline constexpr std::string_view cpp_keywords[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char16_t", "char32_t", "char8_t", "class", "co_await", "co_return",
    "co_yield", "compl", "concept", "const", "const_cast", "consteval", "constexpr", "constinit",
    "continue", "decltype", "default", "delete", "do", "double", "dynamic_cast", "else", "enum",
    "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if", "inline",
    "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
    "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
    "requires", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast",
    "struct", "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef",
    "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t",
    "while", "xor", "xor_eq",
};
// clang-format on
static_assert(std::is_sorted(std::begin(cpp_keywords), std::end(cpp_keywords)));

/// Whether `id` is a reserved C++20 keyword or alternative token (`and`, `not`, ...).
constexpr bool is_keyword(std::string_view id) {
    return std::binary_search(std::begin(cpp_keywords), std::end(cpp_keywords), id);
}

/// The distinct identifiers of `text` in order of first appearance, keywords dropped; none
/// from inside literals or numbers (`inc(alt(v))` gives inc, alt, v; `ns::inc` gives ns, inc).
DESYNC_DECL std::vector<std::string_view> identifiers(std::string_view text);

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/version/normalize.ipp>
#endif
