#pragma once
// An owning pointer to an intrusively counted object (a task, a function's core): T provides
// retain() and release(), which frees it when the last reference goes.

#include <desync/detail/attributes.hpp>

#include <type_traits>
#include <utility>

namespace desync::detail {

template <class T>
class ref {
public:
    ref() noexcept = default;
    /// Adopts one reference.
    explicit ref(T* p) noexcept : p_(p) {}
    ref(const ref& o) noexcept : p_(o.p_) {
        if (p_) p_->retain();
    }
    DESYNC_DETAIL_ALWAYS_INLINE ref(ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    template <class U>
        requires std::is_convertible_v<U*, T*>
    ref(ref<U> o) noexcept : p_(o.detach()) {}
    ref& operator=(ref o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    DESYNC_DETAIL_ALWAYS_INLINE ~ref() {
        if (p_) p_->release();
    }
    /// Takes a new reference to `p`.
    static ref share(T* p) noexcept {
        if (p) p->retain();
        return ref(p);
    }
    T* get() const noexcept { return p_; }
    T* operator->() const noexcept { return p_; }
    T& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    /// Gives up the reference without releasing it.
    T* detach() noexcept { return std::exchange(p_, nullptr); }

private:
    T* p_ = nullptr;
};

}  // namespace desync::detail
