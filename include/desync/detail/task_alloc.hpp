#pragma once
// Memory for tasks: a per-thread cache of blocks in a few size classes, so that the common call
// (allocated on one thread, often freed on another) costs no malloc. Blocks move freely between
// threads' caches; a cache keeps at most a bounded number, the rest go back to the heap.
// Under AddressSanitizer and ThreadSanitizer tasks use plain operator new, so every use of freed
// memory is still seen.

#include <cstddef>
#include <desync/detail/attributes.hpp>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DESYNC_DETAIL_PLAIN_TASK_ALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DESYNC_DETAIL_PLAIN_TASK_ALLOC 1
#endif
#endif

namespace desync::detail {

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
    static constexpr int classes = 4;  // 128, 256, 512 and 1024 bytes
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

    static constexpr std::size_t class_size(int c) { return std::size_t{128} << c; }
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

}  // namespace desync::detail
