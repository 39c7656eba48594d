#pragma once
// Files for tests: a scratch directory of this process's own (removed at exit), a fresh
// directory of one test's own (removed at its end), and whole files read and written as bytes.

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
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

/// A fresh directory under /tmp for one test, removed with everything in it when the object dies.
class temp_dir {
public:
    temp_dir() {
        char name[] = "/tmp/desync-test-XXXXXX";
        if (!::mkdtemp(name)) throw std::runtime_error("mkdtemp failed");
        path_ = name;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }

    /// The path of `name` inside the directory.
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

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
