// libFuzzer harness of a store's value, as a root's store link checks it before serving it (the
// result's record, then the record of what its run called) and decodes it. The first input
// byte's bit 1 gives each record this build's checksum, so that mutations reach the checks and
// the decoders behind it; the key asked for is the first record's, as a lookup would ask.
#include <cstddef>
#include <cstdint>
#include <string>

#include <desync/detail/store/link.hpp>

#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace format = desync::detail::cache_format;
    if (size == 0) return 0;
    unsigned const mode = data[0];
    std::string value(reinterpret_cast<const char*>(data + 1), size - 1);
    std::uint64_t const seed = format::record_seed(format::format_version, "");
    if (mode & 2) desync::fuzz::repair_checksums(value, 0, seed);
    if (value.size() < format::record_overhead) return 0;
    format::record_view const first{reinterpret_cast<const std::byte*>(value.data())};
    if (!desync::detail::store_record_checks(first.key(), value, seed)) return 0;
    desync::fuzz::decode_as_each_type(first.at, first.size());
    return 0;
}
