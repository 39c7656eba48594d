#pragma once
// Out-of-line definitions of <desync/cache_file.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/cache_file.hpp>

#include <algorithm>
#include <cstring>
#include <desync/detail/cache/header.hpp>
#include <desync/detail/cache/io.hpp>
#include <desync/error.hpp>
#include <optional>
#include <span>
#include <unordered_set>
#include <vector>

namespace desync::detail {

DESYNC_DECL bool intern_dep_set(const cache_format::record_view& r) {
    std::span<const std::byte> const value = r.value();
    if (value.empty() || value.size() % sizeof(dep_entry) != 0 || r.key().low != r.key().high)
        return false;  // an empty set is never written: a record with no calls refers to none
    std::vector<dep_entry> entries(value.size() / sizeof(dep_entry));
    std::memcpy(entries.data(), value.data(), value.size());
    if (!std::is_sorted(entries.begin(), entries.end()) ||
        std::adjacent_find(entries.begin(), entries.end()) != entries.end() ||
        dep_set::id_of(entries) != r.key().low)
        return false;
    return dep_sets::get().intern(std::move(entries)) != unverifiable_deps();
}

DESYNC_DECL std::size_t scan_records(const std::shared_ptr<const file_bytes>& file,
                                     std::size_t from, std::uint64_t seed, std::uint32_t version,
                                     cache_data& d, const arriving_bytes* arriving) {
    const std::byte* const base = file->data.get();
    std::size_t const total = arriving ? arriving->total : file->size;
    // How many bytes are there to look at: at least `upto` if the file holds them (waiting for
    // them to arrive), else all it holds.
    std::size_t ready = arriving ? 0 : file->size;
    auto have = [&](std::size_t upto) {
        if (ready < upto && arriving) ready = arriving->wait(std::min(upto, total));
        return ready;
    };
    bool const current = version >= cache_format::oldest_served_version;
    auto const layout = current ? cache_format::layout_v3 : cache_format::layout_v2;
    std::size_t const overhead = layout.child_keys + 8;
    if (current && total > from) d.read.reserve((total - from) / cache_format::record_overhead);
    std::size_t const budget = 4 * total + 4096;
    std::size_t hashed = 0;
    bool damaged = false;
    std::size_t const read_before = d.read.size();
    std::size_t at = from;
    while (at < have(at + 1)) {
        if (hashed > budget) {  // a file made of false starts: the rest is damage
            if (!damaged) ++d.dropped;
            break;
        }
        // The record's fixed fields, then as much as they say it holds (if the file holds it).
        if (have(at + overhead) >= at + overhead &&
            cache_format::load_u32(base + at) == cache_format::marker) {
            std::uint64_t const children = cache_format::load_u64(base + at + layout.children);
            std::uint64_t const length =
                cache_format::load_u64(base + at + cache_format::at_length);
            if (children <= total / 16 && length <= total)
                have(at + overhead + static_cast<std::size_t>(16 * children + length));
        }
        const std::byte* const p = base + at;
        if (std::size_t n = cache_format::check_record(p, ready - at, seed, hashed, layout)) {
            cache_format::record_view const r{p};
            if (!current)
                ++d.outdated;
            else if (r.type() != cache_format::dep_set_type)
                d.read.push_back(p);
            else if (!intern_dep_set(r))
                ++d.dropped;
            at += n;
            damaged = false;
            continue;
        }
        if (!damaged) ++d.dropped;
        damaged = true;
        have(total);  // damage: the next marker is looked for in the whole file
        at = static_cast<std::size_t>(cache_format::find_marker(p + 1, base + ready) - base);
    }
    if (d.read.size() > read_before) d.files.add(file);  // what the records point into
    return hashed;
}

DESYNC_DECL void prefetch(const memo_value* v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(v);
    __builtin_prefetch(reinterpret_cast<const char*>(v) + sizeof(memo_value));  // the value
#else
    (void)v;
#endif
}

DESYNC_DECL bool put_record(std::string& out, const made_entry& e, std::uint64_t seed) {
    const memo_value& v = *e.value;
    std::size_t const start = cache_format::begin_record(
        out, {e.key, v.type(), v.duration_ns(), v.callee(), deps_ref_of(v.deps())}, v.children());
    if (!v.encode(out)) {
        out.resize(start);
        return false;
    }
    cache_format::finish_record(out, start, seed);
    return true;
}

DESYNC_DECL void put_dep_set(std::string& out, const dep_set& s, std::uint64_t seed) {
    std::size_t const start = cache_format::begin_record(
        out, {{s.id(), s.id()}, cache_format::dep_set_type, 0, 0, 0}, {});
    out.append(reinterpret_cast<const char*>(s.entries().data()),
               s.entries().size() * sizeof(dep_entry));
    cache_format::finish_record(out, start, seed);
}

}  // namespace desync::detail

namespace desync {

DESYNC_DECL save_report cache::save(const std::filesystem::path& file,
                                    std::string_view salt) const {
    constexpr std::size_t chunk = std::size_t{1} << 20;
    detail::atomic_file out(file);
    std::string buf = detail::cache_format::make_header(salt);
    std::uint64_t const seed =
        detail::cache_format::record_seed(detail::cache_format::format_version, salt);
    buf.reserve(chunk + 4096);
    std::optional<detail::chunk_writer> writer;  // from the second chunk on
    auto flush = [&](std::size_t at_least) {
        if (buf.size() < at_least) return;
        if (at_least == 0 && !writer) return out.write(buf.data(), buf.size());
        if (!writer) writer.emplace(out);
        writer->put(buf);
        if (buf.capacity() < chunk) buf.reserve(chunk + 4096);
    };
    save_report report;
    // Each set of functions called goes just before the first record that refers to it, so that
    // a file cut short still serves every whole record before the cut.
    std::unordered_set<const detail::dep_set*> sets;
    auto put_set = [&](const detail::dep_set* s) {
        if (s && s != detail::unverifiable_deps() && sets.insert(s).second)
            detail::put_dep_set(buf, *s, seed);
    };
    if (data_) {
        const auto& made = data_->made;
        for (std::size_t i = 0; i < made.size(); ++i) {
            if (i + 16 < made.size()) detail::prefetch(made[i + 16].value.get());
            put_set(made[i].value->deps());  // a set of a result that is skipped costs little
            ++(detail::put_record(buf, made[i], seed) ? report.written : report.skipped);
            flush(chunk);
        }
        for (const std::byte* r : data_->read) {
            // Checked when loaded; its checksum made again for this file's salt and version.
            detail::cache_format::record_view const v{r};
            if (v.deps_ref() > detail::no_deps_ref)
                put_set(detail::dep_sets::get().find(v.deps_ref()));
            detail::cache_format::copy_record(buf, v, seed);
            ++report.written;
            flush(chunk);
        }
    }
    flush(0);
    if (writer) writer->finish();
    out.commit();
    return report;
}

DESYNC_DECL cache cache::load(const std::filesystem::path& file, std::string_view salt) {
    // The records are checked as the file arrives: a large file's reading (on a thread of the
    // reader's own) and checking overlap.
    detail::file_reader reader(file);
    const std::shared_ptr<detail::file_bytes>& bytes = reader.bytes();
    std::size_t const head = reader.wait_for(detail::cache_format::header_limit);
    auto const header = detail::cache_format::read_header({bytes->data.get(), head}, salt);
    if (header.size == 0) {
        reader.finish();  // a read that failed says so first
        throw cache_error("desync: cannot use cache file '" + file.string() +
                          "': " + header.problem);
    }
    auto d = std::make_shared<detail::cache_data>();
    detail::arriving_bytes const arriving{reader.expected(),
                                          [&](std::size_t n) { return reader.wait_for(n); }};
    detail::scan_records(bytes, header.size, header.seed, header.version, *d, &arriving);
    reader.finish();
    return cache(std::move(d));
}

}  // namespace desync
