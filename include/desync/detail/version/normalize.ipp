#pragma once
// Out-of-line definitions of <desync/detail/version/normalize.hpp>: included at its end when
// header-only, or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION,
// docs/compile-time.md).

#include <desync/detail/version/normalize.hpp>

#include <unordered_set>

namespace desync::detail {

DESYNC_DECL std::vector<std::string_view> source_tokens(std::string_view text) {
    std::vector<std::string_view> out;
    source_text const t{text.data(), text.size()};
    for (std::size_t i = skip_blank(t, 0); i < t.n;) {
        std::size_t const end = next_token(t, i).end;
        out.push_back(text.substr(i, end - i));
        i = skip_blank(t, end);
    }
    return out;
}

DESYNC_DECL std::vector<std::string_view> identifiers(std::string_view text) {
    std::vector<std::string_view> out;
    std::unordered_set<std::string_view> seen;
    source_text const t{text.data(), text.size()};
    for (std::size_t i = skip_blank(t, 0); i < t.n;) {
        source_token const tok = next_token(t, i);
        std::string_view const id = text.substr(i, tok.end - i);
        if (tok.kind == token_kind::identifier && !is_keyword(id) && seen.insert(id).second)
            out.push_back(id);
        i = skip_blank(t, tok.end);
    }
    return out;
}

}  // namespace desync::detail
