#pragma once
/// \file
/// Resource budgets (the original's resource manager, without blocked threads): a call that
/// declares `desync::needs{...}` waits in a queue until its budget has room, and gives its
/// units back when it ends, even when it throws.

#include <desync/detail/core/attributes.hpp>
#include <desync/error.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace desync {

class resources;

/// What one call needs from a budget: `cpus` units of "cpus" plus any named units.
/// `from` names the budget; nullptr means desync::default_resources().
struct needs {
    long cpus = 0;                                      ///< units of "cpus"
    std::vector<std::pair<std::string, long>> units{};  ///< other named units, e.g. {"gpus", 1}
    resources* from = nullptr;                          ///< the budget; default_resources() if null
};

namespace detail {

/// A validated request: unit indices into one budget.
struct resource_request {
    resources* budget = nullptr;
    std::vector<std::pair<std::size_t, long>> amounts;
    bool empty() const noexcept { return amounts.empty(); }
};

/// A call waiting for units. granted() runs on the thread that released them.
class resource_waiter {
public:
    virtual void granted() noexcept = 0;

protected:
    ~resource_waiter() = default;
};

/// How calls take units and give them back: pointers that resources::request() installs before
/// it makes a request. A call holds units only by a request, so the code of a call (compiled in
/// every translation unit that makes one) reaches no budget code when no call holds units.
struct resource_ops {
    bool (*acquire_or_queue)(const resource_request& r, resource_waiter* w);
    void (*release)(const resource_request& r) noexcept;
};
inline constinit std::atomic<const resource_ops*> installed_resource_ops{nullptr};

/// Takes the units of `r` (not empty) now, or queues `w` (resources::acquire_or_queue).
DESYNC_DECL bool acquire_units(const resource_request& r, resource_waiter* w);
/// Gives the units of `r` (not empty) back (resources::release).
DESYNC_DECL void release_units(const resource_request& r) noexcept;

}  // namespace detail

/// A budget of named units, e.g. `resources{{"cpus", 4}, {"gpus", 1}}`. Requests are served in
/// the order they were made (a large request is not overtaken and starved by small ones).
/// A budget must outlive the calls that use it.
class resources {
public:
    /// A budget with these units and capacities.
    resources(std::initializer_list<std::pair<std::string, long>> units);
    resources(const resources&) = delete;
    resources& operator=(const resources&) = delete;

    /// The capacity of `unit` (0 if the budget has no such unit).
    long capacity(std::string_view unit) const { return read(capacity_, unit); }
    /// Units of `unit` held by running calls now.
    long in_use(std::string_view unit) const { return read(used_, unit); }
    /// The most units of `unit` ever held at once.
    long peak(std::string_view unit) const { return read(peak_, unit); }

    /// Validates `n` against this budget: throws desync::error for an unknown unit or a request
    /// larger than the whole capacity (it could never run).
    detail::resource_request request(const needs& n);

    /// Takes the units now if the queue is empty and they are free; otherwise queues `w`.
    bool acquire_or_queue(const detail::resource_request& r, detail::resource_waiter* w);

    /// Gives units back and starts the queued calls that now fit, in order.
    void release(const detail::resource_request& r) noexcept;

private:
    void add(detail::resource_request& r, std::string_view unit, long amount);
    bool fits(const detail::resource_request& r) const;
    void take(const detail::resource_request& r);
    long read(const std::vector<long>& v, std::string_view unit) const;

    mutable std::mutex m_;
    std::vector<std::string> names_;
    std::vector<long> capacity_, used_, peak_;
    std::deque<std::pair<detail::resource_waiter*, detail::resource_request>> queue_;
};

/// The default budget: "cpus" = the number of cores.
DESYNC_DECL resources& default_resources();

namespace detail {

/// Resolves `n` against its budget (validating it).
DESYNC_DECL resource_request resolve_needs(const needs& n);

}  // namespace detail
}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/resources.ipp>
#endif
