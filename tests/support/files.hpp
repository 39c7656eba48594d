#pragma once
// Files for tests: a scratch directory of this process's own (removed at exit), and whole files
// read and written as bytes.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace desync::test {

using bytes = std::vector<char>;

/// A directory for this test program and process (`desync-test-<name>-<pid>` in the temporary
/// directory), made at the first call and removed when the process exits normally.
inline std::filesystem::path scratch_dir(std::string_view name) {
    struct owned {
        std::filesystem::path dir;
        explicit owned(std::filesystem::path d) : dir(std::move(d)) {
            std::filesystem::create_directories(dir);
        }
        ~owned() {
            std::error_code ignored;
            std::filesystem::remove_all(dir, ignored);
        }
    };
    static const owned scratch(
        std::filesystem::temp_directory_path() /
        ("desync-test-" + std::string(name) + "-" + std::to_string(::getpid())));
    return scratch.dir;
}

/// The whole file, as bytes (empty if it cannot be read).
inline bytes read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

/// Replaces the file's contents by `b`.
inline void write_all(const std::filesystem::path& p, const bytes& b) {
    std::ofstream(p, std::ios::binary | std::ios::trunc)
        .write(b.data(), static_cast<std::streamsize>(b.size()));
}

/// Replaces the file's contents by `s`.
inline void write_all(const std::filesystem::path& p, std::string_view s) {
    write_all(p, bytes(s.begin(), s.end()));
}

}  // namespace desync::test
