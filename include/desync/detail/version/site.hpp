#pragma once
// Where a desync function was defined: the scope that qualifies its name in its version, so that
// two functions of one name and one text in two namespaces are never one.

#include <desync/detail/core/fn_core.hpp>

#include <cstddef>
#include <string_view>

/// The compiler's name of a lambda's call operator where the macro expands: it names the
/// enclosing scope (a namespace, a function), which qualifies a function's name in its version.
#if defined(_MSC_VER) && !defined(__clang__)
#define DESYNC_DETAIL_SCOPE_PROBE() ([]() constexpr { return ::std::string_view(__FUNCSIG__); }())
#else
#define DESYNC_DETAIL_SCOPE_PROBE() \
    ([]() constexpr { return ::std::string_view(__PRETTY_FUNCTION__); }())
#endif

namespace desync::detail {

// The probe's text in namespace desync::detail tells where a scope sits in the compiler's name of
// a lambda: gcc "desync::detail::<lambda()>", clang "auto desync::detail::(anonymous
// class)::operator()() const".
inline constexpr std::string_view scope_reference = DESYNC_DETAIL_SCOPE_PROBE();
inline constexpr std::string_view scope_reference_name = "desync::detail::";
inline constexpr std::size_t scope_start = scope_reference.find(scope_reference_name);
inline constexpr std::size_t scope_tail =
    scope_reference.size() - scope_start - scope_reference_name.size();
static_assert(scope_start != std::string_view::npos,
              "desync: this compiler does not name the scope of a lambda as gcc or clang do");

/// The definition site of a macro's expansion, from DESYNC_DETAIL_SCOPE_PROBE() there and
/// __FILE__.
constexpr definition_site site_of(std::string_view probe, std::string_view file) {
    std::string_view const scope =
        probe.substr(scope_start, probe.size() - scope_start - scope_tail);
    bool const anonymous = scope.find("{anonymous}") != std::string_view::npos ||
                           scope.find("(anonymous namespace)") != std::string_view::npos;
    if (!anonymous) return {scope, {}};
    std::size_t const slash = file.find_last_of("/\\");
    return {scope, slash == std::string_view::npos ? file : file.substr(slash + 1)};
}

}  // namespace desync::detail
