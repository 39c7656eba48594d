#pragma once
// Compiler hints for the library's own code.

/// A rarely taken path, kept out of line so that the common path around it stays small enough
/// to inline (a hit's call operator, a lazy's destructor).
/// A path that callers should call rather than inline, so that their common path stays small;
/// and a small step of a hit that should be inlined even into a large caller.
#if defined(__GNUC__) || defined(__clang__)
#define DESYNC_DETAIL_COLD [[gnu::cold, gnu::noinline]]
#define DESYNC_DETAIL_NOINLINE [[gnu::noinline]]
#define DESYNC_DETAIL_ALWAYS_INLINE [[gnu::always_inline]]
#else
#define DESYNC_DETAIL_COLD
#define DESYNC_DETAIL_NOINLINE
#define DESYNC_DETAIL_ALWAYS_INLINE
#endif
