#pragma once
// Captures what the process writes to stderr (file descriptor 2) while the object lives.

#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace desync::test {

class stderr_capture {
public:
    stderr_capture() : file_(std::tmpfile()) {
        if (!file_) throw std::runtime_error("tmpfile failed");
        std::fflush(stderr);
        saved_ = ::dup(2);
        ::dup2(::fileno(file_), 2);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        std::fclose(file_);
    }

    /// Everything written so far.
    std::string text() const {
        std::fflush(stderr);
        std::string out;
        char chunk[4096];
        for (off_t at = 0;;) {
            ssize_t const n = ::pread(::fileno(file_), chunk, sizeof chunk, at);
            if (n <= 0) return out;
            out.append(chunk, static_cast<std::size_t>(n));
            at += n;
        }
    }
    /// How many lines were written so far.
    int lines() const {
        int n = 0;
        for (char c : text()) n += c == '\n';
        return n;
    }

private:
    std::FILE* file_;
    int saved_ = -1;
};

}  // namespace desync::test
