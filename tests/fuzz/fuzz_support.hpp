#pragma once
// What the libFuzzer harnesses share: the repair that lets mutated bytes reach past this build's
// checksums, and the decoding of a checked record as each of a few value types.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <desync/desync.hpp>
#include <map>
#include <string>
#include <vector>

namespace desync::fuzz {

namespace format = detail::cache_format;

/// Gives each record a scan of `bytes` from `from` would reach this build's checksum (seeded
/// with `seed`), so that a mutation of a record's fields is read rather than dropped.
inline void repair_checksums(std::string& bytes, std::size_t from, std::uint64_t seed) {
    auto* const base = reinterpret_cast<std::byte*>(bytes.data());
    const std::byte* const end = base + bytes.size();
    std::byte* p = base + from;
    while (p < end) {
        p = const_cast<std::byte*>(format::find_marker(p, end));
        auto const left = static_cast<std::size_t>(end - p);
        if (left < format::record_overhead) return;
        std::uint64_t children = 0, length = 0;
        std::memcpy(&children, p + format::at_children, 8);
        std::memcpy(&length, p + format::at_length, 8);
        std::uint64_t const room = left - format::record_overhead;
        if (children > room / 16 || length > room - 16 * children) {
            p += 1;
            continue;
        }
        std::size_t const body = format::at_child_keys + 16 * children + length;
        std::uint64_t const sum = XXH3_64bits_withSeed(p, body, seed);
        std::memcpy(p + body, &sum, 8);
        p += body + 8;
    }
}

struct sample {
    std::string name;
    std::vector<double> weights;
    std::map<std::string, int> counts;
};

/// Decodes the checked record at `at` as each value type, its type field set to that type's
/// (a record's bytes may be any value's): a decoder must refuse, never read past the record.
inline void decode_as_each_type(const std::byte* at, std::size_t size) {
    std::vector<std::byte> copy(at, at + size);
    auto as = [&]<class V>(V*) {
        std::uint64_t const type = detail::result_type_id<V>;
        std::memcpy(copy.data() + format::at_type, &type, 8);
        (void)detail::decode_record<V>(copy.data());
    };
    as(static_cast<long*>(nullptr));
    as(static_cast<std::string*>(nullptr));
    as(static_cast<std::vector<double>*>(nullptr));
    as(static_cast<sample*>(nullptr));
}

}  // namespace desync::fuzz
