#pragma once
// The thread of a store (SQLite's writer, Redis's I/O thread). A store's state (its "core") is
// shared by its handle and its thread, so that the handle's last reference may go on the thread
// itself (in a write's callback): the handle then asks the core to stop and detaches, and the
// thread, which holds the core, finishes the queue and frees it.

#include <pthread.h>
#include <signal.h>

#include <memory>
#include <thread>

namespace desync::detail {

/// A store's thread, running `core->run()` with the core held.
class store_thread {
public:
    store_thread() = default;
    store_thread(const store_thread&) = delete;
    store_thread& operator=(const store_thread&) = delete;
    ~store_thread() { finish(); }

    template <class Core>
    void start(std::shared_ptr<Core> core) {
        thread_ = std::thread([core = std::move(core)] {
            quiet_signals();
            core->run();
        });
    }
    bool on_it() const noexcept { return thread_.get_id() == std::this_thread::get_id(); }
    /// Waits for the thread to end, or lets it end alone when called on the thread itself.
    void finish() {
        if (!thread_.joinable()) return;
        if (on_it()) {
            thread_.detach();
        } else {
            thread_.join();
        }
    }

private:
    // Signals meant for the program go to its own threads; a peer that closed a socket gives
    // EPIPE, not a SIGPIPE that ends the program. Faults stay deliverable.
    static void quiet_signals() noexcept {
        sigset_t set;
        sigfillset(&set);
        for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
            sigdelset(&set, fault);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
    }

    std::thread thread_;
};

}  // namespace desync::detail
