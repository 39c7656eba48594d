#pragma once
// Out-of-line definitions of <desync/resources.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/resources.hpp>

namespace desync::detail {

DESYNC_DECL bool acquire_units(const resource_request& r, resource_waiter* w) {
    return installed_resource_ops.load(std::memory_order_acquire)->acquire_or_queue(r, w);
}

DESYNC_DECL void release_units(const resource_request& r) noexcept {
    installed_resource_ops.load(std::memory_order_acquire)->release(r);
}

DESYNC_DECL resource_request resolve_needs(const needs& n) {
    return (n.from ? *n.from : default_resources()).request(n);
}

}  // namespace desync::detail

namespace desync {

DESYNC_DECL resources& default_resources() {
    static resources r{
        {"cpus", static_cast<long>(std::max(1u, std::thread::hardware_concurrency()))}};
    return r;
}

DESYNC_DECL resources::resources(std::initializer_list<std::pair<std::string, long>> units) {
    for (const auto& [name, capacity] : units) {
        if (capacity < 0) throw error("desync::resources: negative capacity for '" + name + "'");
        names_.push_back(name);
        capacity_.push_back(capacity);
    }
    used_.assign(names_.size(), 0);
    peak_.assign(names_.size(), 0);
}

DESYNC_DECL detail::resource_request resources::request(const needs& n) {
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

DESYNC_DECL bool resources::acquire_or_queue(const detail::resource_request& r,
                                             detail::resource_waiter* w) {
    std::lock_guard lock(m_);
    if (queue_.empty() && fits(r)) {
        take(r);
        return true;
    }
    queue_.push_back({w, r});
    return false;
}

DESYNC_DECL void resources::release(const detail::resource_request& r) noexcept {
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

DESYNC_DECL void resources::add(detail::resource_request& r, std::string_view unit, long amount) {
    if (amount < 0) throw error("desync::needs: negative amount of '" + std::string(unit) + "'");
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

DESYNC_DECL bool resources::fits(const detail::resource_request& r) const {
    return std::all_of(r.amounts.begin(), r.amounts.end(), [&](const auto& a) {
        return used_[a.first] + a.second <= capacity_[a.first];
    });
}

DESYNC_DECL void resources::take(const detail::resource_request& r) {
    for (const auto& [unit, amount] : r.amounts) {
        used_[unit] += amount;
        peak_[unit] = std::max(peak_[unit], used_[unit]);
    }
}

DESYNC_DECL long resources::read(const std::vector<long>& v, std::string_view unit) const {
    std::lock_guard lock(m_);
    auto it = std::find(names_.begin(), names_.end(), unit);
    return it == names_.end() ? 0 : v[static_cast<std::size_t>(it - names_.begin())];
}

}  // namespace desync
