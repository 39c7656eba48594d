#pragma once
// Compiler hints for the library's own code (a memo hit is a few dozen instructions, and GCC
// would otherwise leave its steps as calls inside the large functions that make calls), and how
// the run time's functions are declared: inline, or compiled once (DESYNC_SEPARATE_COMPILATION).

#if defined(__GNUC__) || defined(__clang__)
/// A rare path, kept out of line and out of the way of the common one around it.
#define DESYNC_DETAIL_COLD [[gnu::cold, gnu::noinline]]
/// A path that callers call rather than inline, so that their common path stays small.
#define DESYNC_DETAIL_NOINLINE [[gnu::noinline]]
#if defined(__OPTIMIZE__)
/// A small step of a call or a hit, inlined even into a large caller.
#define DESYNC_DETAIL_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
// Unoptimized builds do not inline: forcing it would only copy each call's steps into every
// place that makes one, for code that is not optimized anyway.
#define DESYNC_DETAIL_ALWAYS_INLINE inline
#endif
#else
#define DESYNC_DETAIL_COLD
#define DESYNC_DETAIL_NOINLINE
#define DESYNC_DETAIL_ALWAYS_INLINE inline
#endif

// Separate compilation (docs/compile-time.md). By default desync is header-only: every function
// of its run time is inline, and each translation unit that makes a call compiles the run time
// again. A program that defines DESYNC_SEPARATE_COMPILATION (for every one of its translation
// units, as Boost.Asio's BOOST_ASIO_SEPARATE_COMPILATION) sees only the run time's declarations,
// and compiles its definitions once, in one source file that includes <desync/src.hpp>.
#if defined(DESYNC_SEPARATE_COMPILATION)
/// How the run time's out-of-line functions are declared: not inline, defined by <desync/src.hpp>.
#define DESYNC_DECL
/// 1 when the run time's definitions come with the headers (the default), 0 in separate mode.
#define DESYNC_HEADER_ONLY 0
#else
#define DESYNC_DECL inline
#define DESYNC_HEADER_ONLY 1
#endif
