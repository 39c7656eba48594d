// Preloaded (LD_PRELOAD) into a test program, as on a failing disk: while DESYNC_FAIL_DIR_FSYNC
// is set, fsync of a directory fails with EIO; while DESYNC_FAIL_DIR_OPEN is set, opening a
// directory (O_DIRECTORY) fails with EACCES. Everything else is the C library's.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdarg>
#include <cstdlib>

extern "C" int fsync(int fd) {
    using fsync_fn = int (*)(int);
    static const auto next = reinterpret_cast<fsync_fn>(::dlsym(RTLD_NEXT, "fsync"));
    struct stat st {};
    if (std::getenv("DESYNC_FAIL_DIR_FSYNC") && ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EIO;
        return -1;
    }
    return next(fd);
}

extern "C" int open(const char* path, int flags, ...) {
    using open_fn = int (*)(const char*, int, ...);
    static const auto next = reinterpret_cast<open_fn>(::dlsym(RTLD_NEXT, "open"));
    mode_t mode = 0;
    if (flags & O_CREAT) {
        std::va_list args;
        va_start(args, flags);
        mode = static_cast<mode_t>(va_arg(args, int));
        va_end(args);
    }
    if (std::getenv("DESYNC_FAIL_DIR_OPEN") && (flags & O_DIRECTORY)) {
        errno = EACCES;
        return -1;
    }
    return next(path, flags, mode);
}
