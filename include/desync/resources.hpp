#pragma once
/// \file
/// Resource budgets (the original's resource manager, without blocked threads): a call that
/// declares `desync::needs{...}` waits in a queue until its budget has room, and gives its
/// units back when it ends, even when it throws.

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
inline bool acquire_units(const resource_request& r, resource_waiter* w) {
    return installed_resource_ops.load(std::memory_order_acquire)->acquire_or_queue(r, w);
}
/// Gives the units of `r` (not empty) back (resources::release).
inline void release_units(const resource_request& r) noexcept {
    installed_resource_ops.load(std::memory_order_acquire)->release(r);
}

}  // namespace detail

/// A budget of named units, e.g. `resources{{"cpus", 4}, {"gpus", 1}}`. Requests are served in
/// the order they were made (a large request is not overtaken and starved by small ones).
/// A budget must outlive the calls that use it.
class resources {
public:
    /// A budget with these units and capacities.
    resources(std::initializer_list<std::pair<std::string, long>> units) {
        for (const auto& [name, capacity] : units) {
            if (capacity < 0)
                throw error("desync::resources: negative capacity for '" + name + "'");
            names_.push_back(name);
            capacity_.push_back(capacity);
        }
        used_.assign(names_.size(), 0);
        peak_.assign(names_.size(), 0);
    }
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
    detail::resource_request request(const needs& n) {
        static constexpr detail::resource_ops ops{
            [](const detail::resource_request& r, detail::resource_waiter* w) {
                return r.budget->acquire_or_queue(r, w);
            },
            [](const detail::resource_request& r) noexcept { r.budget->release(r); }};
        detail::installed_resource_ops.store(&ops, std::memory_order_release);
        detail::resource_request r{this, {}};
        if (n.cpus) add(r, "cpus", n.cpus);
        for (const auto& [unit, amount] : n.units) add(r, unit, amount);
        return r;
    }

    /// Takes the units now if the queue is empty and they are free; otherwise queues `w`.
    bool acquire_or_queue(const detail::resource_request& r, detail::resource_waiter* w) {
        std::lock_guard lock(m_);
        if (queue_.empty() && fits(r)) {
            take(r);
            return true;
        }
        queue_.push_back({w, r});
        return false;
    }

    /// Gives units back and starts the queued calls that now fit, in order.
    void release(const detail::resource_request& r) noexcept {
        std::vector<detail::resource_waiter*> ready;
        {
            std::lock_guard lock(m_);
            for (const auto& [unit, amount] : r.amounts) used_[unit] -= amount;
            while (!queue_.empty() && fits(queue_.front().second)) {
                take(queue_.front().second);
                ready.push_back(queue_.front().first);
                queue_.pop_front();
            }
        }
        for (auto* w : ready) w->granted();
    }

private:
    void add(detail::resource_request& r, std::string_view unit, long amount) {
        if (amount < 0)
            throw error("desync::needs: negative amount of '" + std::string(unit) + "'");
        auto it = std::find(names_.begin(), names_.end(), unit);
        if (it == names_.end())
            throw error("desync::needs: the budget has no unit '" + std::string(unit) + "'");
        auto i = static_cast<std::size_t>(it - names_.begin());
        if (amount > capacity_[i])
            throw error("desync::needs: a call needs " + std::to_string(amount) + " '" +
                        std::string(unit) + "' but the whole budget holds " +
                        std::to_string(capacity_[i]) + ": it could never run");
        if (amount) r.amounts.emplace_back(i, amount);
    }
    bool fits(const detail::resource_request& r) const {
        return std::all_of(r.amounts.begin(), r.amounts.end(), [&](const auto& a) {
            return used_[a.first] + a.second <= capacity_[a.first];
        });
    }
    void take(const detail::resource_request& r) {
        for (const auto& [unit, amount] : r.amounts) {
            used_[unit] += amount;
            peak_[unit] = std::max(peak_[unit], used_[unit]);
        }
    }
    long read(const std::vector<long>& v, std::string_view unit) const {
        std::lock_guard lock(m_);
        auto it = std::find(names_.begin(), names_.end(), unit);
        return it == names_.end() ? 0 : v[static_cast<std::size_t>(it - names_.begin())];
    }

    mutable std::mutex m_;
    std::vector<std::string> names_;
    std::vector<long> capacity_, used_, peak_;
    std::deque<std::pair<detail::resource_waiter*, detail::resource_request>> queue_;
};

/// The default budget: "cpus" = the number of cores.
inline resources& default_resources() {
    static resources r{
        {"cpus", static_cast<long>(std::max(1u, std::thread::hardware_concurrency()))}};
    return r;
}

namespace detail {

/// Resolves `n` against its budget (validating it).
inline resource_request resolve_needs(const needs& n) {
    return (n.from ? *n.from : default_resources()).request(n);
}

}  // namespace detail
}  // namespace desync
