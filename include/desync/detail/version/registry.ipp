#pragma once
// Out-of-line definitions of <desync/detail/version/registry.hpp>: included at its end when
// header-only, or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION,
// docs/compile-time.md).

#include <desync/detail/version/registry.hpp>

#include <desync/detail/version/normalize.hpp>
#include <desync/xxhash.hpp>

#include <algorithm>
#include <string>

namespace desync::detail {

DESYNC_DECL registry& registry::get() {
    static registry r;
    return r;
}

DESYNC_DECL void registry::add(fn_core& f) {
    std::lock_guard lock(mutex_);
    f.registered = true;
    ++generation_;
    auto& same = by_name_[f.name];
    same.push_back(&f);
    // Several namespaces may define one name; order them by content, not by the static
    // initialization order, so resolution gives the same hashes in every build.
    std::sort(same.begin(), same.end(), by_content{});
}

DESYNC_DECL void registry::add_unnamed(fn_core& f) {
    std::lock_guard lock(mutex_);
    f.registered = true;
    ++generation_;
    unnamed_.insert(&f);
}

DESYNC_DECL void registry::resolve(fn_core& f) {
    if (f.resolved.load(std::memory_order_acquire)) return;
    std::lock_guard lock(mutex_);
    resolve_locked(f);
}

DESYNC_DECL bool registry::known(std::uint64_t h) {
    std::lock_guard lock(mutex_);
    if (known_.count(h)) return true;
    if (all_resolved_ == generation_) return false;
    for (auto& [name, same] : by_name_)
        for (fn_core* f : same) resolve_locked(*f);
    for (fn_core* f : unnamed_) resolve_locked(*f);
    all_resolved_ = generation_;
    return known_.count(h) != 0;
}

DESYNC_DECL std::vector<std::uint64_t> registry::named_full_hashes() {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> out;
    for (auto& [name, same] : by_name_)
        for (fn_core* f : same) {
            resolve_locked(*f);
            out.push_back(f->full_hash);
        }
    std::sort(out.begin(), out.end());
    return out;
}

DESYNC_DECL std::uint64_t registry::generation() {
    std::lock_guard lock(mutex_);
    return generation_;
}

DESYNC_DECL std::vector<fn_core*> registry::callees(const fn_core& f) const {
    std::vector<fn_core*> out;
    auto add_unique = [&](fn_core* c) {
        if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    };
    for (std::string_view id : identifiers(f.source))
        if (auto it = by_name_.find(id); it != by_name_.end())
            for (fn_core* c : it->second) add_unique(c);
    for (const use_entry& u : f.uses)
        if (u.fn) add_unique(u.fn);
    return out;
}

struct registry::tarjan {
    explicit tarjan(registry& r) : reg(r) {}
    registry& reg;
    struct node {
        int index = 0;
        int low = 0;
        bool on_stack = false;
    };
    std::unordered_map<fn_core*, node> nodes;  // one map: each map type is compiled apart
    std::vector<fn_core*> stack;
    int next = 0;

    void visit(fn_core& f) {
        node& self = nodes[&f];  // elements of an unordered_map stay where they are
        self.index = self.low = next++;
        self.on_stack = true;
        stack.push_back(&f);
        for (fn_core* c : reg.callees(f)) {
            if (c->resolved.load(std::memory_order_relaxed)) continue;
            if (auto it = nodes.find(c); it == nodes.end()) {
                visit(*c);
                self.low = std::min(self.low, nodes[c].low);
            } else if (it->second.on_stack) {
                self.low = std::min(self.low, it->second.index);
            }
        }
        if (self.low != self.index) return;
        std::vector<fn_core*> component;
        fn_core* member = nullptr;
        do {
            member = stack.back();
            stack.pop_back();
            nodes[member].on_stack = false;
            component.push_back(member);
        } while (member != &f);
        finish(component);
    }

    void finish(std::vector<fn_core*>& component) {
        std::sort(component.begin(), component.end(), by_content{});
        bool cyclic = component.size() > 1 || contains(reg.callees(*component[0]), component[0]);
        if (cyclic) {
            // The unit's hash covers every member's source and everything outside it.
            std::string unit = "desync.scc";
            for (fn_core* m : component) {
                append(unit, m->major_hash);
                for (fn_core* c : reg.callees(*m))
                    if (!contains(component, c)) append(unit, c->full_hash);
                for (const use_entry& u : m->uses)
                    if (u.value_hash) append(unit, u.value_hash());
            }
            std::uint64_t unit_hash = xxh3_64(unit);
            for (fn_core* m : component) {
                std::string own = "desync.member";
                append(own, unit_hash);
                append(own, m->major_hash);
                m->full_hash = xxh3_64(own);
            }
        }
        for (fn_core* m : component) {
            m->minor_hash.clear();
            for (fn_core* c : reg.callees(*m)) m->minor_hash.push_back(c->full_hash);
            for (const use_entry& u : m->uses)
                if (u.value_hash) m->minor_hash.push_back(u.value_hash());
            if (!cyclic) {
                std::string own = "desync.fn";
                append(own, m->major_hash);
                for (std::uint64_t h : m->minor_hash) append(own, h);
                m->full_hash = xxh3_64(own);
            }
            if (m->versioned()) reg.known_.insert(m->full_hash);
            m->resolved.store(true, std::memory_order_release);
        }
    }

    static bool contains(const std::vector<fn_core*>& v, const fn_core* c) {
        return std::find(v.begin(), v.end(), c) != v.end();
    }
    static void append(std::string& s, std::uint64_t h) {
        for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((h >> (8 * i)) & 0xFF));
    }
};

DESYNC_DECL registry::registry() {
    core_gone = [](fn_core& f) noexcept {
        registry& r = get();
        std::lock_guard lock(r.mutex_);
        r.unnamed_.erase(&f);
    };
}

DESYNC_DECL void registry::resolve_locked(fn_core& f) {
    if (f.resolved.load(std::memory_order_relaxed)) return;
    tarjan t{*this};
    t.visit(f);
}

DESYNC_DECL std::uint64_t full_hash(fn_core& f) {
    registry::get().resolve(f);
    return f.full_hash;
}

}  // namespace desync::detail
