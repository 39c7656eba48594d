#pragma once
// Files for caches, POSIX only: reading a whole file, and replacing one atomically (a unique
// temporary file in the same directory, locked, written, fsync'ed, renamed over the target, and
// the directory fsync'ed), so that a crash or a concurrent save leaves an old or a new whole file.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/error.hpp>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace desync::detail {

inline std::string describe_errno(int e) { return std::generic_category().message(e); }

/// Closes a file descriptor on scope exit.
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() { close(); }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    int close() noexcept;

private:
    int fd_;
};

/// Asks the kernel to back the whole 2 MiB pages inside [p, p + n) with huge pages (best
/// effort: where it gives them only to memory that asks).
DESYNC_DECL void ask_for_huge_pages(std::byte* p, std::size_t n) noexcept;

/// Reads a whole file into memory, exactly as many bytes as it holds (nothing in it decides an
/// allocation). A large file is read on a thread of its own, piece by piece, while the caller
/// works on what has arrived: a load checks records as the disk delivers them.
class file_reader {
public:
    /// Opens `file` and starts reading it. Throws desync::cache_error, saying why, if it cannot
    /// be opened, is not a regular file, or is too large for memory.
    explicit file_reader(const std::filesystem::path& file);
    file_reader(const file_reader&) = delete;
    file_reader& operator=(const file_reader&) = delete;
    /// Stops reading (at the next piece) and waits for the thread.
    ~file_reader();

    /// Where the bytes arrive; its size is set by finish().
    const std::shared_ptr<file_bytes>& bytes() const noexcept { return bytes_; }
    /// The size the file had when opened: at most this many bytes arrive.
    std::size_t expected() const noexcept { return expected_; }
    /// Blocks until `n` bytes have arrived, or the file ended first; returns how many did.
    std::size_t wait_for(std::size_t n);
    /// Waits for the whole file and sets bytes()->size; throws desync::cache_error if a read
    /// failed (what arrived before it stays readable).
    void finish();

    /// What one read asks for; a file of at most this size is read at once, on the calling
    /// thread.
    static constexpr std::size_t piece = std::size_t{8} << 20;

private:
    void read_all() noexcept;  // piece by piece, on the reader's thread for a large file
    cache_error fail(const std::string& why) const;

    std::filesystem::path path_;
    fd_guard fd_;
    std::shared_ptr<file_bytes> bytes_ = std::make_shared<file_bytes>();
    std::size_t expected_ = 0;
    std::mutex mutex_;
    std::condition_variable arrived_cv_;
    std::size_t arrived_ = 0;  // bytes read so far (mutex_)
    bool ended_ = false;       // no more will arrive (mutex_)
    int error_ = 0;            // errno of a failed read (mutex_)
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// A new version of a file, invisible until commit(); dropped if never committed.
class atomic_file {
public:
    explicit atomic_file(std::filesystem::path target);
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    ~atomic_file();

    void write(const char* p, std::size_t n);

    /// Makes the new contents durable, then puts them in the target's place.
    void commit();

private:
    std::filesystem::path directory() const;
    // mkstemp completes a temporary file's name with 6 characters. A name too long to take
    // the 12 added ones is shortened to its first 160 bytes and a hash of the whole.
    std::string temp_prefix() const;

    cache_error fail(const std::string& what) const;
    // The file that the rename replaces is freed when its last link goes, inside rename: for a
    // large file (blocks and cached pages) that takes a third as long as writing it did. Held
    // open, it is freed when closed instead, which close_later does on a thread of its own.
    // Only regular files of at least 1 MiB: a FIFO is not waited for (O_NONBLOCK), a symbolic
    // link not followed (the rename replaces the link).
    int open_replaced() const noexcept;
    static void close_later(int fd) noexcept;

    // A process killed during a save leaves its temporary file. Removed here: the target's
    // temporary files (the name mkstemp gives) that no save holds locked and that were last
    // written a minute ago or more (a save locks its file right after creating it, and lets go
    // only to rename it). Best effort: an error leaves the file.
    void remove_abandoned() const noexcept;
    static void remove_if_abandoned(const std::filesystem::path& temp) noexcept;

    // Makes the rename durable. Some file systems cannot fsync a directory (EINVAL and the
    // like): the rename stands as it is. Any other failure (EIO; a directory that cannot be
    // opened, EACCES) means a crash may undo it: an error, with the new file in place.
    void sync_directory() const;

    std::filesystem::path target_;
    std::filesystem::path temp_;
    int fd_ = -1;
    std::size_t written_ = 0;
    bool committed_ = false;
};

/// Writes a file's chunks on a thread of its own, so that making the next chunk overlaps copying
/// this one to the kernel (and the disk's writeback of it). One chunk in flight; a failed write
/// is rethrown by the next put() or by finish().
class chunk_writer {
public:
    explicit chunk_writer(atomic_file& out);
    chunk_writer(const chunk_writer&) = delete;
    chunk_writer& operator=(const chunk_writer&) = delete;
    ~chunk_writer() { stop(); }

    /// Hands `chunk` over (it comes back empty, with the capacity of an earlier chunk).
    void put(std::string& chunk);

    /// Waits until every chunk is written.
    void finish();

private:
    void run() noexcept;
    void stop() noexcept;

    atomic_file& out_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string chunk_;
    bool full_ = false;
    bool stopping_ = false;
    std::exception_ptr error_;
    std::thread thread_;  // last: it starts once the rest is made
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/cache/io.ipp>
#endif
