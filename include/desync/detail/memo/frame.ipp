#pragma once
// Out-of-line definitions of <desync/detail/memo/frame.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/frame.hpp>

#include <algorithm>
#include <bit>

namespace desync::detail {

DESYNC_DETAIL_NOINLINE DESYNC_DECL void memo_frame::start_index() {
    if (index_.empty()) {
        std::sort(children.begin(), children.end());
        children.erase(std::unique(children.begin(), children.end()), children.end());
    }
    index_.assign(std::bit_ceil(4 * children.size()), 0);
    for (std::size_t i = 0; i < children.size(); ++i) insert(children[i], i + 1);
}

DESYNC_DECL void memo_frame::insert(const hash128& key, std::size_t position) noexcept {
    std::size_t const mask = index_.size() - 1;
    std::size_t i = key.low & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = static_cast<std::uint32_t>(position);
}

DESYNC_DECL std::vector<memo_frame>& memo_frames() {
    // Frames hold tasks; freed after the thread's task cache, they go to the heap.
    thread_local std::vector<memo_frame> frames;
    return frames;
}

DESYNC_DECL std::vector<memo_frame>& live_frames() {
    auto& frames = memo_frames();
    while (!frames.empty() && frames.back().task->done()) frames.pop_back();
    return frames;
}

DESYNC_DECL frame_result take_frame(const task_base& t) noexcept {
    memo_frame* f = current_frame();
    if (!f || f->task.get() != &t) return {};
    frame_result out;
    try {
        out.deps = f->deps.finish();
        out.children = std::move(f->children);
        for (auto& [child, key_of] : f->pending)
            if (const hash128* k = key_of(*child)) out.children.push_back(*k);
        std::sort(out.children.begin(), out.children.end());
        out.children.erase(std::unique(out.children.begin(), out.children.end()),
                           out.children.end());
    } catch (...) {  // out of memory: the run cannot be verified, so it is not recorded
        out = {};
    }
    memo_frames().pop_back();
    tl_frame.memo_frame = false;
    return out;
}

DESYNC_DECL void note_spawned(task_base& t, fn_core& callee) noexcept {
    memo_frame* f = current_frame();
    if (!f) return;
    try {
        f->deps.note_callee(callee);
    } catch (...) {  // out of memory: the body's run cannot be verified
        f->deps.note_set(unverifiable_deps());
    }
    t.set_collects();
}

DESYNC_DECL void note_joined(task_base& child) noexcept {
    if (!child.collects()) return;
    if (memo_frame* f = current_frame()) f->deps.note_set(child.deps());
}

DESYNC_DECL void push_frame(task_base& t) noexcept {
    install_frame_observer();  // calls it makes that are not desync functions' collect too
    try {
        live_frames().emplace_back(task_ref<>::share(&t));
        tl_frame.memo_frame = true;
    } catch (...) {  // out of memory: its run cannot be verified (take_frame)
    }
}

DESYNC_DECL void install_frame_observer() noexcept {
    if (!installed_memo.load(std::memory_order_relaxed))
        installed_memo.store(&frame_observer, std::memory_order_release);
}

}  // namespace desync::detail
