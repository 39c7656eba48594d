#pragma once
// The shared state of one call: its memory, its counted references, its state machine,
// continuations and result.

#include <desync/detail/core/attributes.hpp>

#include <desync/error.hpp>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DESYNC_DETAIL_PLAIN_TASK_ALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DESYNC_DETAIL_PLAIN_TASK_ALLOC 1
#endif
#endif

namespace desync::detail {

// ---- memory

// Memory for tasks: a per-thread cache of blocks in a few size classes, so that the common call
// (allocated on one thread, often freed on another) costs no malloc. Blocks move freely between
// threads' caches; a cache keeps at most a bounded number, the rest go back to the heap.
// Under AddressSanitizer and ThreadSanitizer tasks use plain operator new, so every use of freed
// memory is still seen.
class task_alloc {
public:
    DESYNC_DETAIL_ALWAYS_INLINE static void* allocate(std::size_t size) {
#ifndef DESYNC_DETAIL_PLAIN_TASK_ALLOC
        if (int c = size_class(size); c >= 0) {
            free_list& list = local().lists[c];
            if (block* b = list.head) [[likely]] {
                list.head = b->next;
                --list.count;
                return b;
            }
            return allocate_new(c);
        }
#endif
        return ::operator new(size);
    }

    DESYNC_DETAIL_ALWAYS_INLINE static void deallocate(void* p, std::size_t size) noexcept {
#ifndef DESYNC_DETAIL_PLAIN_TASK_ALLOC
        if (int c = size_class(size); c >= 0) {
            cache& l = local();
            free_list& list = l.lists[c];
            if (l.owned && list.count < max_cached) [[likely]] {
                list.head = ::new (p) block{list.head};
                ++list.count;
                return;
            }
            return ::operator delete(p);
        }
#endif
        (void)size;
        ::operator delete(p);
    }

private:
    // 120, 248, 504 and 1016 bytes: with the heap's 8-byte header, chunks of 128 to 1024 bytes.
    static constexpr int classes = 4;
    static constexpr std::size_t max_cached = 4096;

    struct block {
        block* next;
    };
    struct free_list {
        block* head = nullptr;
        std::size_t count = 0;
    };
    // Trivial, so that reaching it costs no guard: the blocks are freed by an owner made at
    // the thread's first allocation (until then, and after it is gone, frees go to the heap).
    struct cache {
        free_list lists[classes];
        bool owned;
        bool exited;
    };
    struct owner {
        ~owner() {
            cache& l = local();
            l.owned = false;
            l.exited = true;
            for (free_list& list : l.lists)
                while (block* b = list.head) {
                    list.head = b->next;
                    ::operator delete(b);
                }
        }
    };

    static constexpr std::size_t class_size(int c) { return (std::size_t{128} << c) - 8; }
    static constexpr int size_class(std::size_t size) {
        for (int c = 0; c < classes; ++c)
            if (size <= class_size(c)) return c;
        return -1;
    }

    static cache& local() noexcept {
        thread_local constinit cache l{};
        return l;
    }
    // This thread's cache of class `c` is empty: a block from the heap.
    DESYNC_DETAIL_NOINLINE static void* allocate_new(int c) {
        cache& l = local();
        if (!l.owned && !l.exited) own();
        return ::operator new(class_size(c));
    }
    static void own() {
        thread_local owner o;
        (void)o;
        local().owned = true;
    }
};

// ---- counted references

// An owning pointer to an intrusively counted object (a task, a function's core): T provides
// retain() and release(), which frees it when the last reference goes.
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
    /// From a reference to a derived class.
    template <std::derived_from<T> U>
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

// ---- the task

class task_base;
class executor_slot;
class dep_set;
struct fn_core;

/// Life of a call: waiting for inputs (or resources), queued on its executor, claimed by one
/// thread, finished. Only queued -> running is contended (the executor and a waiter may race).
enum class task_state : std::uint32_t { pending, queued, running, done };

/// Something to do when a task finishes. Nodes are intrusive and fire exactly once.
class continuation {
public:
    continuation* next = nullptr;
    virtual void fire() noexcept = 0;

protected:
    ~continuation() = default;
};

/// Fires continuation chains without recursion: a completion inside a completion queues its
/// nodes for the outermost one, so a long chain of dataflow hits cannot overflow the stack.
class trampoline {
public:
    static void run(continuation* chain) noexcept;

private:
    static trampoline& local() noexcept {
        thread_local trampoline t;
        return t;
    }
    static void append(trampoline& self, continuation* chain) noexcept;
    continuation* head_ = nullptr;
    continuation* tail_ = nullptr;
    bool draining_ = false;
};

class task_base {
public:
    task_base(const task_base&) = delete;
    task_base& operator=(const task_base&) = delete;

    DESYNC_DETAIL_ALWAYS_INLINE static void* operator new(std::size_t size) {
        return task_alloc::allocate(size);
    }
    DESYNC_DETAIL_ALWAYS_INLINE static void operator delete(void* p, std::size_t size) noexcept {
        task_alloc::deallocate(p, size);
    }

    void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    /// The last reference frees the task. A count of 1 is this caller's reference alone, and
    /// nobody else can add one (that takes a reference already), so it needs no atomic
    /// read-modify-write, which would wait for this thread's pending stores.
    DESYNC_DETAIL_ALWAYS_INLINE void release() noexcept {
        if (refs_.load(std::memory_order_acquire) == 1 ||
            refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

    task_state state(std::memory_order order = std::memory_order_acquire) const noexcept {
        return static_cast<task_state>(state_.load(order) & state_mask);
    }
    bool done() const noexcept { return state() == task_state::done; }
    bool failed() const noexcept { return error_ != nullptr; }  // only after done()

    /// Claims a queued task for the calling thread; exactly one claimant wins.
    bool try_claim() noexcept { return transition(task_state::queued, task_state::running); }

    /// Blocks until the state differs from `seen`. The sleeper sets a flag first, so that the
    /// transitions only pay for a wake-up (a futex call) when someone sleeps on this task.
    void wait_change(task_state seen) const noexcept;

    /// Adds a continuation; returns false (and does not keep it) when the task already finished.
    bool add_continuation(continuation* c) noexcept {
        continuation* head = conts_.load(std::memory_order_acquire);
        do {
            if (head == closed()) return false;
            c->next = head;
        } while (!conts_.compare_exchange_weak(head, c, std::memory_order_acq_rel,
                                               std::memory_order_acquire));
        return true;
    }

    /// The error, marked as reported: whoever takes it is responsible for surfacing it.
    std::exception_ptr take_error() noexcept {
        observed_.store(true, std::memory_order_relaxed);
        return error_;
    }
    /// Marks the error (if any, now or later) as handed on to a dependent call.
    void hand_on_error() noexcept { observed_.store(true, std::memory_order_relaxed); }
    /// True once the result was read or handed on to a dependent (which then reports it).
    bool handed_on() const noexcept { return observed_.load(std::memory_order_relaxed); }
    /// The error if nobody has reported it yet, and marks it reported. A cancellation is
    /// never reported this way: only a reader sees it.
    std::exception_ptr claim_unreported_error() noexcept {
        if (!error_ || observed_.exchange(true, std::memory_order_relaxed)) return nullptr;
        return is_cancellation(error_) ? nullptr : error_;
    }
    const std::exception_ptr& error() const noexcept { return error_; }

    /// Runs the claimed task to completion on this thread (body, join, result).
    virtual void execute() noexcept = 0;
    /// For a pending task: one input that has not finished, so a waiter can help it along.
    virtual task_base* unfinished_input() noexcept { return nullptr; }

    /// Where the task runs once queued (nullptr: it is never queued).
    virtual executor_slot* executor() const noexcept { return nullptr; }
    fn_core* root() const noexcept { return root_; }
    bool is_root() const noexcept { return (roles_ & root_role) != 0; }

    /// Root calls only: the number of live `lazy` handles (the last one waits in its destructor).
    void add_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }
    bool drop_handle() noexcept { return handles_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

    void set_error(std::exception_ptr e) noexcept { error_ = std::move(e); }

    /// Publishes the result, wakes waiters and fires continuations. Called once.
    void complete() noexcept;

    /// Moves a pending task to queued (its inputs are ready); false if it was not pending.
    bool make_queued() noexcept { return transition(task_state::pending, task_state::queued); }

    /// Identity of this call in a trace (0 when tracing was off when it was made).
    std::uint64_t trace_id() const noexcept { return trace_id_; }
    void set_trace_id(std::uint64_t id) noexcept { trace_id_ = id; }

    void set_root(fn_core* root, bool is_root) noexcept {
        root_ = root;
        if (!is_root) return;
        roles_ = static_cast<std::uint8_t>(roles_ | root_role);
        handles_.store(1, std::memory_order_relaxed);
    }

    /// What the call's run called (memo hooks: memo_deps.hpp), once it finished; set only for
    /// calls under a memoizable call, which the join hands to the body that made them.
    const dep_set* deps() const noexcept { return deps_; }
    void set_deps(const dep_set* d) noexcept { deps_ = d; }
    /// Whether the call's body notes what it calls: it runs under a memoizable call.
    bool collects() const noexcept { return (roles_ & collects_role) != 0; }
    void set_collects() noexcept { roles_ = static_cast<std::uint8_t>(roles_ | collects_role); }

    /// Bits the call's hooks keep for themselves (the memo layer's: its key is known, its run
    /// went unrecorded), here where the task has a byte to spare rather than in their own state.
    bool hook_bit(std::uint8_t bit) const noexcept { return (hook_bits_ & bit) != 0; }
    void set_hook_bit(std::uint8_t bit) noexcept {
        hook_bits_ = static_cast<std::uint8_t>(hook_bits_ | bit);
    }

protected:
    explicit task_base(task_state s) noexcept
        : state_(static_cast<std::uint32_t>(s)),
          conts_(s == task_state::done ? closed() : nullptr) {}  // born done: nothing will fire
    virtual ~task_base() = default;

private:
    static constexpr std::uint32_t state_mask = 3;
    static constexpr std::uint32_t sleeper_flag = 4;
    static constexpr std::uint8_t root_role = 1;      // roles_: a root call
    static constexpr std::uint8_t collects_role = 2;  // roles_: its body notes what it calls

    // from -> to, keeping nobody asleep: the sleeper flag is cleared and its owner woken.
    bool transition(task_state from, task_state to) noexcept {
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        do {
            if ((s & state_mask) != static_cast<std::uint32_t>(from)) return false;
        } while (!state_.compare_exchange_weak(s, static_cast<std::uint32_t>(to),
                                               std::memory_order_acq_rel,
                                               std::memory_order_relaxed));
        if (s & sleeper_flag) state_.notify_all();
        return true;
    }

    static continuation* closed() noexcept {
        struct sentinel final : continuation {
            void fire() noexcept override {}
        };
        static sentinel s;
        return &s;
    }
    static continuation* reverse(continuation* c) noexcept {
        if (c == closed()) return nullptr;
        continuation* out = nullptr;
        while (c) {
            continuation* next = c->next;
            c->next = out;
            out = c;
            c = next;
        }
        return out;
    }

    // 64 bytes with the vtable pointer, the small fields packed into one word: a pending call of a
    // function of a word is then a task of 120 bytes, one 128-byte heap chunk (docs/calls.md).
    mutable std::atomic<std::uint32_t> state_;
    std::atomic<std::uint32_t> refs_{1};
    std::atomic<continuation*> conts_{nullptr};
    std::atomic<std::int32_t> handles_{0};
    std::atomic<bool> observed_{false};
    std::uint8_t roles_ = 0;  // root_role, collects_role: set before the task is shared

protected:
    bool has_value_ = false;  // result_task's: whether its value is constructed

private:
    std::uint8_t hook_bits_ = 0;
    std::uint64_t trace_id_ = 0;
    fn_core* root_ = nullptr;
    const dep_set* deps_ = nullptr;
    std::exception_ptr error_;
};

static_assert(sizeof(void*) != 8 || sizeof(task_base) == 64, "a task's header is 64 bytes");

/// An owning pointer to a task.
template <class T = task_base>
using task_ref = ref<T>;

/// Holds a user object inside a task. Its destructor is noexcept whatever T's is: a lazy (whose
/// destructor may rethrow a root call's error) can sit in arguments or captures without making
/// the task's destructor potentially throwing.
template <class T>
class box {
public:
    template <class... A>
    explicit box(std::in_place_t, A&&... a) {
        ::new (static_cast<void*>(&storage_)) T(std::forward<A>(a)...);
    }
    box(const box&) = delete;
    box& operator=(const box&) = delete;
    ~box() noexcept { get().~T(); }
    T& get() noexcept { return *std::launder(reinterpret_cast<T*>(&storage_)); }
    const T& get() const noexcept { return *std::launder(reinterpret_cast<const T*>(&storage_)); }

private:
    alignas(T) unsigned char storage_[sizeof(T)];
};

/// The typed result of a call; `value()` is valid once the task is done without error.
template <class T>
class result_task : public task_base {
public:
    using value_type = T;
    const T& value() const noexcept { return *std::launder(reinterpret_cast<const T*>(&storage_)); }
    T& value() noexcept { return *std::launder(reinterpret_cast<T*>(&storage_)); }
    template <class... A>
    void emplace(A&&... a) {
        ::new (static_cast<void*>(&storage_)) T(std::forward<A>(a)...);
        this->has_value_ = true;
    }
    bool has_value() const noexcept { return this->has_value_; }

protected:
    using task_base::task_base;
    ~result_task() override {
        if (this->has_value_) value().~T();
    }

private:
    alignas(T) unsigned char storage_[sizeof(T)];
};

template <>
class result_task<void> : public task_base {
public:
    using value_type = void;
    void emplace() noexcept { has_value_ = true; }
    bool has_value() const noexcept { return has_value_; }

protected:
    using task_base::task_base;
};

/// A call that finished when it was made (a memo hit, a ready value).
template <class T>
class ready_task final : public result_task<T> {
public:
    struct value_tag {};
    struct error_tag {};
    template <class... A>
    explicit ready_task(value_tag, A&&... a) : result_task<T>(task_state::done) {
        this->emplace(std::forward<A>(a)...);
    }
    ready_task(error_tag, std::exception_ptr e) : result_task<T>(task_state::done) {
        this->set_error(std::move(e));
    }
    void execute() noexcept override {}
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/core/task.ipp>
#endif
