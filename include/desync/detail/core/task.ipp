#pragma once
// Out-of-line definitions of <desync/detail/core/task.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/core/task.hpp>

namespace desync::detail {

DESYNC_DECL void trampoline::run(continuation* chain) noexcept {
    auto& self = local();
    if (!chain) return;
    append(self, chain);
    if (self.draining_) return;
    self.draining_ = true;
    while (continuation* c = self.head_) {
        self.head_ = c->next;
        if (!self.head_) self.tail_ = nullptr;
        c->next = nullptr;
        c->fire();
    }
    self.draining_ = false;
}

DESYNC_DECL void trampoline::append(trampoline& self, continuation* chain) noexcept {
    continuation* last = chain;
    while (last->next) last = last->next;
    if (self.tail_)
        self.tail_->next = chain;
    else
        self.head_ = chain;
    self.tail_ = last;
}

DESYNC_DECL void task_base::wait_change(task_state seen) const noexcept {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    while ((s & state_mask) == static_cast<std::uint32_t>(seen)) {
        if (!(s & sleeper_flag) &&
            !state_.compare_exchange_weak(s, s | sleeper_flag, std::memory_order_acq_rel,
                                          std::memory_order_acquire))
            continue;
        state_.wait(s | sleeper_flag, std::memory_order_acquire);
        s = state_.load(std::memory_order_acquire);
    }
}

DESYNC_DECL void task_base::complete() noexcept {
    auto before =
        state_.exchange(static_cast<std::uint32_t>(task_state::done), std::memory_order_acq_rel);
    if (before & sleeper_flag) state_.notify_all();
    continuation* chain = conts_.exchange(closed(), std::memory_order_acq_rel);
    trampoline::run(reverse(chain));
}

}  // namespace desync::detail
