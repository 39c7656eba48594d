// Preloaded (LD_PRELOAD) into a test program: while DESYNC_FAIL_DIR_FSYNC is set, fsync of a
// directory fails with EIO, as on a failing disk; every other fsync is the C library's.
#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
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
