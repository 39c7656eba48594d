#pragma once
// Out-of-line definitions of <desync/detail/cache/io.hpp>: included at its end when header-only, or
// once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/cache/io.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <desync/xxhash.hpp>
#include <initializer_list>
#include <new>
#include <vector>

namespace desync::detail {

DESYNC_DECL int fd_guard::close() noexcept {
    int const r = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return r;
}

// Without O_NONBLOCK, opening a FIFO waits for a writer: the check below would never run.
DESYNC_DECL file_reader::file_reader(const std::filesystem::path& file)
    : path_(file), fd_(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) {
    if (fd_.get() < 0) throw fail(describe_errno(errno));
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw fail(describe_errno(errno));
    if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
    ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_NONBLOCK);
    expected_ = static_cast<std::size_t>(st.st_size);
    try {
        bytes_->data = std::make_unique_for_overwrite<std::byte[]>(expected_);
    } catch (const std::bad_alloc&) {
        throw fail("too large for memory (" + std::to_string(expected_) + " bytes)");
    }
    if (expected_ <= piece) {
        read_all();  // a small file: at once, here
    } else {
        ask_for_huge_pages(bytes_->data.get(), expected_);
        thread_ = std::thread([this] { read_all(); });
    }
}

// Where the kernel gives huge pages only to memory that asks (transparent_hugepage=madvise), a
// buffer of a gigabyte would otherwise be faulted in 4 KiB at a time, which costs as much as
// reading it. Only whole 2 MiB pages inside the buffer are asked for; a refusal changes nothing.
DESYNC_DECL void ask_for_huge_pages(std::byte* p, std::size_t n) noexcept {
#ifdef MADV_HUGEPAGE
    constexpr std::uintptr_t huge = std::uintptr_t{1} << 21;
    std::uintptr_t const begin = (reinterpret_cast<std::uintptr_t>(p) + huge - 1) & ~(huge - 1);
    std::uintptr_t const end = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(huge - 1);
    if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}

DESYNC_DECL file_reader::~file_reader() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
}

DESYNC_DECL void file_reader::read_all() noexcept {
    std::size_t done = 0;
    int error = 0;
    while (done < expected_ && !stop_.load(std::memory_order_relaxed)) {
        std::size_t const want = std::min(piece, expected_ - done);
        ssize_t const n = ::read(fd_.get(), bytes_->data.get() + done, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = errno;
        if (n <= 0) break;  // 0: it shrank meanwhile, what was read is what there is
        done += static_cast<std::size_t>(n);
        if (done < expected_) {
            std::lock_guard l(mutex_);
            arrived_ = done;
        }
        arrived_cv_.notify_all();
    }
    {
        std::lock_guard l(mutex_);
        arrived_ = done;
        error_ = error;
        ended_ = true;
    }
    arrived_cv_.notify_all();
}

DESYNC_DECL std::size_t file_reader::wait_for(std::size_t n) {
    std::unique_lock l(mutex_);
    arrived_cv_.wait(l, [&] { return arrived_ >= n || ended_; });
    return arrived_;
}

DESYNC_DECL void file_reader::finish() {
    std::size_t const size = wait_for(expected_);
    if (thread_.joinable()) thread_.join();
    fd_.close();
    if (error_) throw fail(describe_errno(error_));
    bytes_->size = size;
}

DESYNC_DECL cache_error file_reader::fail(const std::string& why) const {
    return cache_error("desync: cannot read cache file '" + path_.string() + "': " + why);
}

DESYNC_DECL atomic_file::atomic_file(std::filesystem::path target) : target_(std::move(target)) {
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

DESYNC_DECL atomic_file::~atomic_file() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
}

DESYNC_DECL void atomic_file::write(const char* p, std::size_t n) {
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

DESYNC_DECL void atomic_file::commit() {
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

DESYNC_DECL std::filesystem::path atomic_file::directory() const {
    std::filesystem::path dir = target_.parent_path();
    return dir.empty() ? "." : dir;
}

DESYNC_DECL std::string atomic_file::temp_prefix() const {
    std::string name = target_.filename().string();
    if (name.size() > 200) {
        char hash[17];
        std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(xxh3_64(name)));
        name = name.substr(0, 160) + "-" + hash;
    }
    return "." + name + ".tmp-";
}

DESYNC_DECL cache_error atomic_file::fail(const std::string& what) const {
    return cache_error("desync: cannot save cache file '" + target_.string() + "': " + what + ": " +
                       describe_errno(errno));
}

DESYNC_DECL int atomic_file::open_replaced() const noexcept {
    int const fd =
        ::open(target_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return -1;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t{1} << 20)) return fd;
    ::close(fd);
    return -1;
}

DESYNC_DECL void atomic_file::close_later(int fd) noexcept {
    if (fd < 0) return;
    try {
        std::thread([fd] { ::close(fd); }).detach();
    } catch (...) {  // no thread to be had: close it here
        ::close(fd);
    }
}

DESYNC_DECL void atomic_file::remove_abandoned() const noexcept {
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

DESYNC_DECL void atomic_file::remove_if_abandoned(const std::filesystem::path& temp) noexcept {
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

DESYNC_DECL void atomic_file::sync_directory() const {
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

DESYNC_DECL chunk_writer::chunk_writer(atomic_file& out) : out_(out), thread_([this] { run(); }) {}

DESYNC_DECL void chunk_writer::put(std::string& chunk) {
    std::unique_lock l(mutex_);
    changed_.wait(l, [&] { return !full_; });
    if (error_) std::rethrow_exception(error_);
    std::swap(chunk, chunk_);
    chunk.clear();
    full_ = true;
    changed_.notify_all();
}

DESYNC_DECL void chunk_writer::finish() {
    stop();
    if (error_) std::rethrow_exception(error_);
}

DESYNC_DECL void chunk_writer::run() noexcept {
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

DESYNC_DECL void chunk_writer::stop() noexcept {
    {
        std::lock_guard l(mutex_);
        stopping_ = true;
        changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

}  // namespace desync::detail
