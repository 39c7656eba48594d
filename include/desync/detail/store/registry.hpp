#pragma once
// The flush at program exit. Every store's core registers here (weakly) when it opens; an atexit
// handler, registered when the first store opens, flushes every core still alive. A store
// destroyed before that handler runs (a local of main, a static made after the first store) has
// flushed already; one never destroyed (leaked, or held by a table that outlives main) is
// flushed there. Knows nothing of any store: the scheduler may call flush_stores_at_exit() in
// its constructor, so that the flush runs after its pools drained at exit.

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

namespace desync::detail {

/// What the exit flush can flush.
struct store_core {
    virtual ~store_core() = default;
    /// Everything queued before the call is durable on return (or the store gave up on it).
    virtual void flush() = 0;
};

/// The cores alive, held weakly. Never destroyed: a store may close after every static died.
class store_registry {
public:
    static store_registry& get() {
        static store_registry* const registry = new store_registry;
        return *registry;
    }

    /// Registers the flush at exit, once.
    void arm() {
        std::call_once(at_exit_, [] { std::atexit(&flush_at_exit); });
    }

    void add(const std::shared_ptr<store_core>& core) {
        arm();
        std::lock_guard lock(m_);
        std::erase_if(cores_, [](const std::weak_ptr<store_core>& c) { return c.expired(); });
        cores_.push_back(core);
    }

    /// Flushes every store alive, each outside the lock (a store closing meanwhile must not wait).
    void flush_all() noexcept {
        std::vector<std::weak_ptr<store_core>> cores;
        {
            std::lock_guard lock(m_);
            cores = cores_;
        }
        for (const auto& weak : cores) {
            if (auto core = weak.lock()) {
                try {
                    core->flush();
                } catch (...) {  // exit goes on: the store has said what failed
                }
            }
        }
    }

private:
    store_registry() = default;
    static void flush_at_exit() { get().flush_all(); }

    std::once_flag at_exit_;
    std::mutex m_;
    std::vector<std::weak_ptr<store_core>> cores_;
};

/// Makes every store opened so far durable now (what the exit does for stores still open).
inline void flush_stores() noexcept { store_registry::get().flush_all(); }

/// Registers the exit flush without opening a store. Called from an object's constructor, it
/// makes the flush run after that object's destruction at exit (atexit order).
inline void flush_stores_at_exit() { store_registry::get().arm(); }

}  // namespace desync::detail
