#pragma once
// What a body under a memoizable call does, kept on the thread that runs it: the memoized calls
// it made (the children of a memoizable call's record) and the desync functions it called
// (deps.hpp). Calls of desync functions reach it through memo_hooks (hooks.hpp); every other
// call through the memo observer installed here (core/hooks.hpp).

#include <desync/detail/core/attributes.hpp>

#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/hooks.hpp>
#include <desync/detail/core/run.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/memo/deps.hpp>
#include <desync/xxhash.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace desync::detail {

/// What the body of a call under a memoizable call made, collected on the thread that runs the
/// body: the memoized calls' keys (the children of a memoizable call's recorded result) and the
/// desync functions called (memo_deps.hpp).
struct memo_frame {
    explicit memo_frame(task_ref<> t) noexcept : task(std::move(t)) {}

    task_ref<> task;
    dep_builder deps;
    std::vector<hash128> children;
    // Calls made with dataflow inputs (on_spawned): keyed, if at all, by the time the body joins.
    std::vector<std::pair<task_ref<>, const hash128* (*)(task_base&)>> pending;

    /// Notes a call's key. A body that makes many calls with few keys (a loop of hits) keeps
    /// each key once as it goes, rather than sorting them all when it returns.
    DESYNC_DETAIL_ALWAYS_INLINE void add_child(const hash128& key) {
        if (index_.empty()) {
            children.push_back(key);
            if (children.size() == indexed_from) start_index();
            return;
        }
        std::size_t const mask = index_.size() - 1;
        std::size_t i = key.low & mask;
        for (; index_[i] != 0; i = (i + 1) & mask)
            if (children[index_[i] - 1] == key) return;
        children.push_back(key);
        if (2 * children.size() > index_.size()) return start_index();
        index_[i] = static_cast<std::uint32_t>(children.size());  // the empty slot found
    }

private:
    static constexpr std::size_t indexed_from = 64;  // fewer keys are sorted once, at the end

    // index_: open addressing over `children`, at most half full; a slot holds a key's
    // position + 1 (0: empty). Made (again, twice as large) from the keys kept so far, which
    // are unique once the first index has been made. DESYNC_DETAIL_NOINLINE, on its definition
    // (GCC warns of an inline definition that follows a noinline declaration).
    void start_index();
    void insert(const hash128& key, std::size_t position) noexcept;
    std::vector<std::uint32_t> index_;
};

/// One frame per body under a memoizable call running on this thread: a body waiting for a call
/// may run it here, nested.
DESYNC_DECL std::vector<memo_frame>& memo_frames();

/// Drops the frames that bodies which failed left on top of this thread's frames.
DESYNC_DECL std::vector<memo_frame>& live_frames();

/// The frame of the body running on this thread, if it is a memoizable call's. Most calls are
/// made by bodies that keep none, and learn so from the trivial thread-local frame.
DESYNC_DETAIL_ALWAYS_INLINE memo_frame* current_frame() {
    if (!tl_frame.memo_frame) return nullptr;
    auto& frames = live_frames();
    if (frames.empty() || frames.back().task.get() != tl_frame.task) return nullptr;
    return &frames.back();
}

/// What the body of `t` made, once its join is over.
struct frame_result {
    std::vector<hash128> children;              // memoized calls' keys, each once
    const dep_set* deps = unverifiable_deps();  // what it called; unverifiable if not collected
};

/// Removes the frame of `t` and returns what it collected (without a frame, for want of memory
/// when the body started, nothing is known of its run: unverifiable).
DESYNC_DECL frame_result take_frame(const task_base& t) noexcept;

/// The running body notes the call `t` of `callee` it made, and `t` collects too.
DESYNC_DECL void note_spawned(task_base& t, fn_core& callee) noexcept;

/// The running body's join found `child` finished: what its run called is part of the body's.
DESYNC_DECL void note_joined(task_base& child) noexcept;

DESYNC_DECL void install_frame_observer() noexcept;

/// A body that collects starts: its frame.
DESYNC_DECL void push_frame(task_base& t) noexcept;

/// The memo observer of calls that are not desync functions' own (desync::async, then): such a
/// call under a memoizable call collects what its body calls for the call above it.
inline constexpr memo_observer frame_observer{
    &note_spawned, &push_frame, [](task_base& t) noexcept { t.set_deps(take_frame(t).deps); },
    &note_joined};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/frame.ipp>
#endif
