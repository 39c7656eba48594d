#pragma once
// Out-of-line definitions of <desync/detail/core/run.hpp>: included at its end when header-only, or
// once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/core/run.hpp>

namespace desync::detail {

DESYNC_DECL void run_claimed(task_base* t) noexcept {
    frame saved = tl_frame;
    tl_frame.sc = nullptr;
    tl_frame.root = t->root();
    tl_frame.task = t;
    tl_frame.memo_frame = false;
    if (tl_frame.deque) tl_frame.mark = tl_frame.deque->tail();
    t->execute();
    tl_frame = saved;
    t->complete();
}

DESYNC_DECL bool help_own_scope() noexcept {
    if (!tl_frame.deque) return false;
    task_base* t = tl_frame.deque->pop_back(tl_frame.mark);
    if (!t) return false;
    if (t->try_claim()) run_claimed(t);
    t->release();
    return true;
}

DESYNC_DECL void drain_own_scope() noexcept {
    while (help_own_scope()) {
    }
}

DESYNC_DECL void wait_for(task_base* t) noexcept {
    for (int spins = 0;;) {
        task_state s = t->state();
        if (s == task_state::done) return;
        if (s == task_state::queued && t->executor()->claimable_here() && t->try_claim()) {
            // The newest entry of this worker's deque is usually the call being claimed: take
            // the entry too, so no stale entry keeps the task alive.
            bool popped = tl_frame.deque && tl_frame.deque->pop_back_if(t, tl_frame.mark);
            run_claimed(t);
            if (popped) t->release();
            return;
        }
        if (s == task_state::pending) {
            if (task_base* input = t->unfinished_input()) {
                wait_for(input);
                continue;
            }
        }
        if (help_own_scope()) {
            spins = 0;
            continue;
        }
        if (++spins < 100) {
            cpu_relax();
            continue;
        }
        t->wait_change(s);
        spins = 0;
    }
}

DESYNC_DECL std::vector<std::exception_ptr> scope::join() noexcept {
    if (size_) drain_own_scope();
    std::vector<std::exception_ptr> errors;
    for (std::size_t i = 0; i < size_; ++i) {
        task_base* child = at(i);
        wait_for(child);
        if (joined_) joined_(*child);
        if (auto e = child->claim_unreported_error()) errors.push_back(std::move(e));
    }
    release_all();
    return errors;
}

DESYNC_DECL void scope::make_room() {
    if (joined_ && !more_.empty()) {
        std::size_t kept = 0;
        for (task_base* child : more_) {
            if (child->done() && !child->failed()) {
                joined_(*child);
                child->release();
            } else {
                more_[kept++] = child;
            }
        }
        more_.resize(kept);
        size_ = inline_capacity + kept;
        if (2 * kept <= more_.capacity()) return;
    }
    more_.reserve(std::max(first_room, 2 * more_.capacity()));
}

DESYNC_DECL void scope::release_all() noexcept {
    for (std::size_t i = 0; i < size_; ++i) at(i)->release();
    size_ = 0;
    more_.clear();
}

}  // namespace desync::detail
