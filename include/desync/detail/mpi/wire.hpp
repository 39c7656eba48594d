#pragma once
/// \file
/// The MPI transport's messages, without MPI: their tags, the ids appended to payloads, the
/// record every rank contributes to the build check, and how a worker's exception travels (its
/// demangled type name and message). Every rank runs the same build, so numbers travel in the
/// native byte order.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define DESYNC_MPI_HAS_CXXABI 1
#endif

namespace desync::detail::mpi::wire {

/// What a message is; its MPI tag. A job and its reply carry their ids after the payload.
enum tag : int {
    hello = 1,     ///< worker -> rank 0: u64 slots, sent once when the worker starts serving
    job = 2,       ///< rank 0 -> worker: arguments | u64 function | u64 id
    result = 3,    ///< worker -> rank 0: encoded result | u64 id
    failure = 4,   ///< worker -> rank 0: encoded failure | u64 id
    stop = 5,      ///< rank 0 -> worker: nothing more will come (empty)
    stop_ack = 6,  ///< worker -> rank 0: this worker's last message (empty)
};

/// Bytes the ids add to a job message: function and call id.
inline constexpr std::size_t job_trailer = 16;
/// Bytes the id adds to a reply.
inline constexpr std::size_t reply_trailer = 8;

/// The largest payload one MPI message carries here: counts are ints.
inline constexpr std::size_t max_message = 0x7fffffff;

/// Appends v's bytes.
inline void put_u64(std::string& out, std::uint64_t v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

/// Removes the last 8 bytes of `in` and returns them as a number; `in` must hold 8 bytes.
inline std::uint64_t take_u64(std::string& in) noexcept {
    std::uint64_t v;
    std::memcpy(&v, in.data() + in.size() - sizeof v, sizeof v);
    in.resize(in.size() - sizeof v);
    return v;
}

/// Identifies this protocol in the build check: a rank speaking another one is refused.
inline constexpr std::uint64_t protocol = 0x3150'4d43'4e59'5344ull;  // "DSYNCMP1"

/// What each rank contributes to the build check at start (four u64, gathered by every rank).
struct check_record {
    std::uint64_t protocol;     ///< wire::protocol
    std::uint64_t fingerprint;  ///< hash of the cache format's build fingerprint
    std::uint64_t digest;       ///< build_digest(): the functions this build has
    std::uint64_t threads;      ///< the MPI thread level MPI_Init_thread provided
};

/// A type's name as written in C++ ("std::out_of_range"), or the compiler's name for it.
inline std::string demangle(const char* name) {
#ifdef DESYNC_MPI_HAS_CXXABI
    int status = 0;
    char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (status == 0 && readable) {
        std::string out(readable);
        std::free(readable);
        return out;
    }
#endif
    return name;
}

/// An exception as it travels: its type's name and its message.
struct failure_text {
    std::string type;     ///< demangled name of the exception's dynamic type
    std::string message;  ///< its what(), or a sentence saying it has none
};

/// Names and describes the exception `e` holds (its dynamic type for std::exception).
inline failure_text describe(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return {demangle(typeid(x).name()), x.what()};
    } catch (...) {
#ifdef DESYNC_MPI_HAS_CXXABI
        if (const std::type_info* t = abi::__cxa_current_exception_type()) {
            std::string type = demangle(t->name());
            return {type, "an exception of type " + type + " (not derived from std::exception)"};
        }
#endif
        return {"(unknown)", "an exception not derived from std::exception"};
    }
}

/// u64 length of the type name | type name | message.
inline std::string encode_failure(const failure_text& f) {
    std::string out;
    out.reserve(8 + f.type.size() + f.message.size() + reply_trailer);
    put_u64(out, f.type.size());
    out += f.type;
    out += f.message;
    return out;
}

/// Reads what encode_failure wrote; false if `in` is not such a text.
inline bool decode_failure(std::string_view in, failure_text& out) {
    std::uint64_t type_size;
    if (in.size() < sizeof type_size) return false;
    std::memcpy(&type_size, in.data(), sizeof type_size);
    in.remove_prefix(sizeof type_size);
    if (type_size > in.size()) return false;
    out.type.assign(in.substr(0, type_size));
    out.message.assign(in.substr(type_size));
    return true;
}

}  // namespace desync::detail::mpi::wire

#undef DESYNC_MPI_HAS_CXXABI
