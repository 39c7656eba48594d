// What a memo key and a recorded run can see across builds: one program built twice, EDIT=0 and
// EDIT=1, where each case's code differs between the builds, run in order on one cache file per
// case. `verify_program <root> <cache file>` installs the file's cache (if there is one), calls
// the root, saves what the run recorded, and prints the callees that ran ("none": every call was
// a hit). Then it computes the root's value again without any cache: if the cached run's value
// differs, it appends "+stale". Cases of the first kind must never be stale (the fixes); cases
// of the second kind are the documented limits, whose tests show the stale value they give.
#include <desync/desync.hpp>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "ran.hpp"

using variants::ran;

// ===== What the key and the recorded run see =====

// --- twins: one name and one text in two namespaces, each calling its own namespace's leaf
namespace x {
DESYNC_FN(leaf, [](int v) {
    ran("x.leaf");
    return v + 1;
});
DESYNC_FN(twin, [](int v) {
    ran("twin");
    return leaf(v).get() * 10;
});
}  // namespace x
namespace y {
DESYNC_FN(leaf, [](int v) {
    ran("y.leaf");
    return v + 2;
});
DESYNC_FN(twin, [](int v) {
    ran("twin");
    return leaf(v).get() * 10;
});
}  // namespace y
#if EDIT == 0
DESYNC_FN(twin_root, [](int v) { return x::twin(v).get(); });
#else
DESYNC_FN(twin_root, [](int v) { return y::twin(v).get(); });
#endif

// --- an enum argument whose enumerators are reordered
#if EDIT == 0
enum class mode { fast, slow };
#else
enum class mode { slow, fast };
#endif
DESYNC_FN(pace, [](mode m) {
    ran("pace");
    return m == mode::fast ? 1 : 2;
});
DESYNC_FN(pace_root, [](int) { return pace(mode::fast).get() * 10 + pace(mode::slow).get(); });

// --- an enum result with an enumerator inserted before the one returned
#if EDIT == 0
enum class level { low, high };
#else
enum class level { low, mid, high };
#endif
DESYNC_FN(grade, [](int v) {
    ran("grade");
    return v > 0 ? level::high : level::low;
});
DESYNC_FN(grade_root, [](int v) { return grade(v).get() == level::high ? 1 : 0; });

// --- an enumerator renamed (its number kept): what it stands for changed
#if EDIT == 0
enum class tint { red, blue };
#else
enum class tint { red, green };
#endif
DESYNC_FN(paint, [](tint t) {
    ran("paint");
    return static_cast<int>(t) * 2;
});
DESYNC_FN(paint_root, [](int v) { return paint(static_cast<tint>(v)).get(); });

// --- a callee with a source that no body can name: a DESYNC_SOURCE variable
#if EDIT == 0
inline const auto scaled = desync::desync(DESYNC_SOURCE([](int v) {
    ran("scaled");
    return v * 2;
}));
#else
inline const auto scaled = desync::desync(DESYNC_SOURCE([](int v) {
    ran("scaled");
    return v * 3;
}));
#endif
DESYNC_FN(use_scaled, [](int v) {
    ran("use_scaled");
    return scaled(v).get() + 1;
});
DESYNC_FN(scaled_root, [](int v) { return use_scaled(v).get(); });

// --- a callee reached through a helper that returns a reference to it
#if EDIT == 0
DESYNC_FN(hidden, [](int v) {
    ran("hidden");
    return v + 10;
});
#else
DESYNC_FN(hidden, [](int v) {
    ran("hidden");
    return v + 20;
});
#endif
const auto& pick_hidden() { return hidden; }
DESYNC_FN(via_helper, [](int v) {
    ran("via_helper");
    return pick_hidden()(v).get();
});
DESYNC_FN(helper_root, [](int v) { return via_helper(v).get(); });

// --- a callee reached through a reference alias
#if EDIT == 0
DESYNC_FN(aliased, [](int v) {
    ran("aliased");
    return v - 1;
});
#else
DESYNC_FN(aliased, [](int v) {
    ran("aliased");
    return v - 2;
});
#endif
inline const auto& other_name = aliased;
DESYNC_FN(via_alias, [](int v) {
    ran("via_alias");
    return other_name(v).get();
});
DESYNC_FN(alias_root, [](int v) { return via_alias(v).get(); });

// --- a callee reached through a macro that expands to the call
#if EDIT == 0
DESYNC_FN(expanded, [](int v) {
    ran("expanded");
    return v * 5;
});
#else
DESYNC_FN(expanded, [](int v) {
    ran("expanded");
    return v * 6;
});
#endif
#define CALL_EXPANDED(v) expanded(v)
DESYNC_FN(via_macro, [](int v) {
    ran("via_macro");
    return CALL_EXPANDED(v).get();
});
DESYNC_FN(macro_root, [](int v) { return via_macro(v).get(); });

// --- a callee without a source: a run that called it cannot be verified, so it is never
// recorded (it runs every time)
int plain_impl(int v) { return v + 100 * (EDIT + 1); }
inline const auto plain = desync::desync(&plain_impl);
DESYNC_FN(use_plain, [](int v) {
    ran("use_plain");
    return plain(v).get();
});
DESYNC_FN(plain_root, [](int v) { return use_plain(v).get(); });

// --- a callee without a source, given a version with desync::uses: it is recorded, and a new
// version constant makes its callers run again
int versioned_impl(int v) { return v + 1000 * (EDIT + 1); }
inline constexpr int versioned_impl_version = EDIT + 1;
DESYNC_FN(versioned_plain, &versioned_impl, desync::uses(versioned_impl_version));
DESYNC_FN(use_versioned, [](int v) {
    ran("use_versioned");
    return versioned_plain(v).get();
});
DESYNC_FN(versioned_root, [](int v) { return use_versioned(v).get(); });

// --- a three-level subtree whose deepest callee is reached without its name
#if EDIT == 0
DESYNC_FN(deep, [](int v) {
    ran("deep");
    return v + 3;
});
#else
DESYNC_FN(deep, [](int v) {
    ran("deep");
    return v + 4;
});
#endif
inline const auto& deep_alias = deep;
DESYNC_FN(middle, [](int v) {
    ran("middle");
    return deep_alias(v).get() * 2;
});
DESYNC_FN(top, [](int v) {
    ran("top");
    return middle(v).get() + 1;
});
DESYNC_FN(deep_root, [](int v) { return top(v).get(); });

// ===== Limits: what neither the key nor the recorded run can see (docs/limits.md) =====

// --- a global the body reads, not named with desync::uses
int global_factor = EDIT == 0 ? 2 : 3;
DESYNC_FN(read_global, [](int v) {
    ran("read_global");
    return v * global_factor;
});
DESYNC_FN(global_root, [](int v) { return read_global(v).get(); });

// --- an inline constexpr flag the body tests with if constexpr
inline constexpr bool fast_path = EDIT == 0;
DESYNC_FN(branch_on_flag, [](int v) {
    ran("branch_on_flag");
    if constexpr (fast_path)
        return v;
    else
        return v * 2;
});
DESYNC_FN(flag_root, [](int v) { return branch_on_flag(v).get(); });

// --- a default member initializer of a type the body builds
struct settings {
    int scale = EDIT == 0 ? 4 : 5;
};
DESYNC_FN(use_settings, [](int v) {
    ran("use_settings");
    settings s;
    return v * s.scale;
});
DESYNC_FN(settings_root, [](int v) { return use_settings(v).get(); });

// --- a type alias defined outside the body
#if EDIT == 0
using real = double;
#else
using real = float;
#endif
DESYNC_FN(third, [](int v) {
    ran("third");
    return static_cast<double>(static_cast<real>(v) / 3);
});
DESYNC_FN(alias_type_root, [](int v) { return third(v).get() == 1.0 / 3 ? 1 : 0; });

// --- a plain C++ function the body calls
int plain_helper(int v) { return v + (EDIT == 0 ? 7 : 8); }
DESYNC_FN(call_plain, [](int v) {
    ran("call_plain");
    return plain_helper(v);
});
DESYNC_FN(plain_fn_root, [](int v) { return call_plain(v).get(); });

// --- an overload added that the body's call now chooses
int chosen(double) { return 1; }
#if EDIT == 1
int chosen(int) { return 2; }
#endif
DESYNC_FN(call_overload, [](int v) {
    ran("call_overload");
    return chosen(v);
});
DESYNC_FN(overload_root, [](int v) { return call_overload(v).get(); });

// --- a macro's definition (the body is hashed as written, not expanded)
#define OFFSET (EDIT == 0 ? 30 : 40)
DESYNC_FN(add_offset, [](int v) {
    ran("add_offset");
    return v + OFFSET;
});
DESYNC_FN(macro_def_root, [](int v) { return add_offset(v).get(); });

// --- two fields of one type swapped in a result type
#if EDIT == 0
struct span2 {
    int first;
    int last;
};
#else
struct span2 {
    int last;
    int first;
};
#endif
DESYNC_FN(make_span, [](int v) {
    ran("make_span");
    span2 s{};
    s.first = v;
    s.last = v + 1;
    return s;
});
DESYNC_FN(swap_root, [](int v) { return make_span(v).get().first; });

template <class Root>
std::function<std::string(const std::filesystem::path&)> runner(const Root& root) {
    return [&root](const std::filesystem::path& file) {
        if (std::filesystem::exists(file)) root.set_cache(desync::cache::load(file));
        auto const cached = root(1).get();
        root.get_cache().save(file);
        std::string out = variants::ran_list();
        root.clear_cache();  // the truth: a run without any cache
        if (root(1).get() != cached) out += "+stale";
        return out;
    };
}

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: verify_program <root> <cache file>\n";
        return 2;
    }
    const std::map<std::string, std::function<std::string(const std::filesystem::path&)>> roots{
        {"twin_root", runner(twin_root)},
        {"pace_root", runner(pace_root)},
        {"grade_root", runner(grade_root)},
        {"paint_root", runner(paint_root)},
        {"scaled_root", runner(scaled_root)},
        {"helper_root", runner(helper_root)},
        {"alias_root", runner(alias_root)},
        {"macro_root", runner(macro_root)},
        {"plain_root", runner(plain_root)},
        {"versioned_root", runner(versioned_root)},
        {"deep_root", runner(deep_root)},
        {"global_root", runner(global_root)},
        {"flag_root", runner(flag_root)},
        {"settings_root", runner(settings_root)},
        {"alias_type_root", runner(alias_type_root)},
        {"plain_fn_root", runner(plain_fn_root)},
        {"overload_root", runner(overload_root)},
        {"macro_def_root", runner(macro_def_root)},
        {"swap_root", runner(swap_root)},
    };
    auto root = roots.find(argv[1]);
    if (root == roots.end()) {
        std::cerr << "unknown root " << argv[1] << "\n";
        return 2;
    }
    std::cout << root->second(argv[2]) << "\n";
    return 0;
}
