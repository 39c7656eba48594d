#pragma once
// Compiler hints for the library's own code: a memo hit is a few dozen instructions, and GCC
// would otherwise leave its steps as calls inside the large functions that make calls.

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
