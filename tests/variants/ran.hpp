// Which bodies ran in a variant program: each body calls ran("name"); ran_list() is the names
// in order, comma-separated, or "none" when every call was a hit.
#pragma once
#include <mutex>
#include <set>
#include <string>

namespace variants {

inline std::mutex ran_mutex;
inline std::set<std::string> ran_calls;

/// Notes that the body `name` ran.
inline void ran(const char* name) {
    std::lock_guard lock(ran_mutex);
    ran_calls.insert(name);
}

/// The bodies that ran, "a,b,c", or "none".
inline std::string ran_list() {
    std::lock_guard lock(ran_mutex);
    std::string list;
    for (const std::string& name : ran_calls) list += (list.empty() ? "" : ",") + name;
    return list.empty() ? "none" : list;
}

}  // namespace variants
