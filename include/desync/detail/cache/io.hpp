#pragma once
// Files for caches, POSIX only: reading a whole file, and replacing one atomically (a unique
// temporary file in the same directory, locked, written, fsync'ed, renamed over the target, and
// the directory fsync'ed), so that a crash or a concurrent save leaves an old or a new whole file.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <desync/detail/memo/value.hpp>
#include <desync/error.hpp>
#include <desync/xxhash.hpp>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

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
    int close() noexcept {
        int const r = fd_ >= 0 ? ::close(fd_) : 0;
        fd_ = -1;
        return r;
    }

private:
    int fd_;
};

/// The bytes of `file`, exactly as many as it holds: nothing in it decides an allocation.
inline file_bytes read_file(const std::filesystem::path& file) {
    auto fail = [&](const std::string& why) {
        return cache_error("desync: cannot read cache file '" + file.string() + "': " + why);
    };
    // Without O_NONBLOCK, opening a FIFO waits for a writer: the check below would never run.
    fd_guard fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) throw fail(describe_errno(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw fail(describe_errno(errno));
    if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    auto const size = static_cast<std::size_t>(st.st_size);
    file_bytes out;
    try {
        out.data = std::make_unique_for_overwrite<std::byte[]>(size);
    } catch (const std::bad_alloc&) {
        throw fail("too large for memory (" + std::to_string(size) + " bytes)");
    }
    while (out.size < size) {
        ssize_t const n = ::read(fd.get(), out.data.get() + out.size, size - out.size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw fail(describe_errno(errno));
        if (n == 0) break;  // it shrank meanwhile: what was read is what there is
        out.size += static_cast<std::size_t>(n);
    }
    return out;
}

/// A new version of a file, invisible until commit(); dropped if never committed.
class atomic_file {
public:
    explicit atomic_file(std::filesystem::path target) : target_(std::move(target)) {
        std::filesystem::path const dir = directory();
        std::string name = (dir / (temp_prefix() + "XXXXXX")).string();
        std::vector<char> buf(name.begin(), name.end());
        buf.push_back('\0');
        fd_ = ::mkstemp(buf.data());
        if (fd_ < 0) throw fail("cannot create a temporary file in '" + dir.string() + "'");
        temp_ = buf.data();
        ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
        // Held until the file is closed: a save that finds this file unlocked knows that its
        // writer is gone (remove_abandoned). Best effort: some file systems have no locks.
        (void)::flock(fd_, LOCK_EX | LOCK_NB);
        // The file stays its owner's alone (mkstemp makes it 0600) until commit(): a killed
        // save's file is never read-only, so a later save can open it to lock it and remove it.
    }
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    ~atomic_file() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(temp_.c_str());
    }

    void write(const char* p, std::size_t n) {
        std::size_t const from = written_;
        while (n > 0) {
            ssize_t const w = ::write(fd_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) throw fail("cannot write '" + temp_.string() + "'");
            p += w, n -= static_cast<std::size_t>(w);
            written_ += static_cast<std::size_t>(w);
        }
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
        // Starts writing these bytes to the disk now, without waiting, so that commit()'s
        // fsync waits only for the tail. A hint: fsync still decides durability.
        ::sync_file_range(fd_, static_cast<off_t>(from), static_cast<off_t>(written_ - from),
                          SYNC_FILE_RANGE_WRITE);
#else
        (void)from;
#endif
    }

    /// Makes the new contents durable, then puts them in the target's place.
    void commit() {
        struct stat st {};  // a new file is 0644; a replaced one keeps its mode
        (void)::fchmod(fd_, ::stat(target_.c_str(), &st) == 0 ? st.st_mode & 07777 : 0644);
        if (::fsync(fd_) != 0) throw fail("cannot write '" + temp_.string() + "'");
        int const r = ::close(fd_);
        fd_ = -1;
        if (r != 0) throw fail("cannot write '" + temp_.string() + "'");
        fd_guard replaced(open_replaced());
        if (::rename(temp_.c_str(), target_.c_str()) != 0)
            throw fail("cannot rename '" + temp_.string() + "'");
        committed_ = true;
        std::exception_ptr unsynced;
        try {
            sync_directory();
        } catch (const cache_error&) {
            unsynced = std::current_exception();
        }
        close_later(replaced.release());
        remove_abandoned();
        if (unsynced) std::rethrow_exception(unsynced);
    }

private:
    std::filesystem::path directory() const {
        std::filesystem::path dir = target_.parent_path();
        return dir.empty() ? "." : dir;
    }
    // mkstemp completes a temporary file's name with 6 characters. A name too long to take
    // the 12 added ones is shortened to its first 160 bytes and a hash of the whole.
    std::string temp_prefix() const {
        std::string name = target_.filename().string();
        if (name.size() > 200) {
            char hash[17];
            std::snprintf(hash, sizeof hash, "%016llx",
                          static_cast<unsigned long long>(xxh3_64(name)));
            name = name.substr(0, 160) + "-" + hash;
        }
        return "." + name + ".tmp-";
    }

    cache_error fail(const std::string& what) const {
        return cache_error("desync: cannot save cache file '" + target_.string() + "': " + what +
                           ": " + describe_errno(errno));
    }
    // The file that the rename replaces is freed when its last link goes, inside rename: for a
    // large file (blocks and cached pages) that takes a third as long as writing it did. Held
    // open, it is freed when closed instead, which close_later does on a thread of its own.
    // Only regular files of at least 1 MiB: a FIFO is not waited for (O_NONBLOCK), a symbolic
    // link not followed (the rename replaces the link).
    int open_replaced() const noexcept {
        int const fd =
            ::open(target_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) return -1;
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t{1} << 20))
            return fd;
        ::close(fd);
        return -1;
    }
    static void close_later(int fd) noexcept {
        if (fd < 0) return;
        try {
            std::thread([fd] { ::close(fd); }).detach();
        } catch (...) {  // no thread to be had: close it here
            ::close(fd);
        }
    }

    // A process killed during a save leaves its temporary file. Removed here: the target's
    // temporary files (the name mkstemp gives) that no save holds locked and that were last
    // written a minute ago or more (a save locks its file right after creating it, and lets go
    // only to rename it). Best effort: an error leaves the file.
    void remove_abandoned() const noexcept {
        try {
            std::string const prefix = temp_prefix();
            std::error_code ec;
            for (std::filesystem::directory_iterator it(directory(), ec), end; !ec && it != end;
                 it.increment(ec)) {
                std::string const name = it->path().filename().string();
                if (name.size() == prefix.size() + 6 && name.starts_with(prefix))
                    remove_if_abandoned(it->path());
            }
        } catch (...) {
        }
    }
    static void remove_if_abandoned(const std::filesystem::path& temp) noexcept {
        fd_guard fd(::open(temp.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
        struct stat held {};
        struct stat named {};
        if (fd.get() < 0 || ::fstat(fd.get(), &held) != 0 || !S_ISREG(held.st_mode)) return;
        if (::time(nullptr) - held.st_mtim.tv_sec < 60) return;
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return;  // a save is writing it
        // Still the file that name gives (not a new one made meanwhile), then gone.
        if (::lstat(temp.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
            named.st_ino == held.st_ino)
            ::unlink(temp.c_str());
    }

    // Makes the rename durable. Some file systems cannot fsync a directory (EINVAL and the
    // like): the rename stands as it is. Any other failure (EIO; a directory that cannot be
    // opened, EACCES) means a crash may undo it: an error, with the new file in place.
    void sync_directory() const {
        fd_guard d(::open(directory().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (d.get() >= 0 && ::fsync(d.get()) == 0) return;
        int const e = errno;
        if (d.get() >= 0)
            for (int unsupported : {EINVAL, ENOTSUP, EOPNOTSUPP, EBADF, EROFS})
                if (e == unsupported) return;
        throw cache_error("desync: saved cache file '" + target_.string() +
                          "', but cannot sync its directory: " + describe_errno(e) +
                          ": a crash may bring back the file it replaced");
    }

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
    explicit chunk_writer(atomic_file& out) : out_(out), thread_([this] { run(); }) {}
    chunk_writer(const chunk_writer&) = delete;
    chunk_writer& operator=(const chunk_writer&) = delete;
    ~chunk_writer() { stop(); }

    /// Hands `chunk` over (it comes back empty, with the capacity of an earlier chunk).
    void put(std::string& chunk) {
        std::unique_lock l(mutex_);
        changed_.wait(l, [&] { return !full_; });
        if (error_) std::rethrow_exception(error_);
        std::swap(chunk, chunk_);
        chunk.clear();
        full_ = true;
        changed_.notify_all();
    }

    /// Waits until every chunk is written.
    void finish() {
        stop();
        if (error_) std::rethrow_exception(error_);
    }

private:
    void run() noexcept {
        std::unique_lock l(mutex_);
        for (;;) {
            changed_.wait(l, [&] { return full_ || stopping_; });
            if (!full_) return;
            l.unlock();
            std::exception_ptr e;
            try {
                if (!error_) out_.write(chunk_.data(), chunk_.size());
            } catch (...) {
                e = std::current_exception();
            }
            l.lock();
            if (e) error_ = e;
            full_ = false;
            changed_.notify_all();
        }
    }
    void stop() noexcept {
        {
            std::lock_guard l(mutex_);
            stopping_ = true;
            changed_.notify_all();
        }
        if (thread_.joinable()) thread_.join();
    }

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
