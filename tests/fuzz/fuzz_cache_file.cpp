// libFuzzer harness of the cache file loader: the header, the scan of records (markers, lengths,
// checksums, dependency sets, a budget of bytes hashed) and the decoding of each record it keeps.
// The first input byte says what the harness repairs, so that mutations reach past this build's
// checks: bit 0, the rest is records after this build's header (the fingerprint names the
// compiler, which a stored corpus cannot know); bit 1, each record gets this build's checksum.
// Without either bit the input is a whole file, as a user's disk would hand it over.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace format = desync::detail::cache_format;
    if (size == 0) return 0;
    unsigned const mode = data[0];
    std::string file = mode & 1 ? format::make_header("") : std::string();
    std::size_t const records_at = file.size();
    file.append(reinterpret_cast<const char*>(data + 1), size - 1);
    if (mode & 2)
        desync::fuzz::repair_checksums(file, records_at,
                                       format::record_seed(format::format_version, ""));

    auto bytes = std::make_shared<desync::detail::file_bytes>();
    bytes->data.reset(new std::byte[file.size() + 1]);
    std::memcpy(bytes->data.get(), file.data(), file.size());
    bytes->size = file.size();
    auto const header = format::read_header({bytes->data.get(), bytes->size}, "");
    if (header.size == 0) return 0;
    desync::detail::cache_data d;
    desync::detail::scan_records(bytes, header.size, header.seed, header.version, d);
    for (const std::byte* r : d.read) {
        format::record_view const v{r};
        desync::fuzz::decode_as_each_type(r, v.size());
    }
    return 0;
}
