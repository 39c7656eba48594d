#pragma once
/// \file
/// Where desync::distributed functions meet the transport: on rank 0, a call that leaves becomes
/// a remote_job whose reply answers it; on a worker, each distributed function is a handler,
/// found by its full hash, that makes the call on this process and sends back its result.

#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/hooks.hpp>
#include <desync/detail/mpi/transport.hpp>
#include <desync/detail/version/registry.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

namespace desync::detail::mpi {

/// A distributed call handed to the transport on rank 0; its reply answers the call.
class outgoing_call final : public remote_job {
public:
    outgoing_call(std::uint64_t function, std::string args, remote_answer& answer)
        : remote_job(function, std::move(args)), answer_(&answer) {}

    void done(std::string result) noexcept override {
        remote_answer* a = answer_;
        delete this;
        a->remote_done(std::move(result));
    }
    void failed(std::exception_ptr error) noexcept override {
        remote_answer* a = answer_;
        delete this;
        a->remote_failed(std::move(error));
    }

private:
    remote_answer* answer_;
};

/// Rank 0's transport for distributed calls (core/hooks.hpp): queued for the workers while the
/// cluster takes calls.
inline bool submit_call(std::uint64_t function, std::string args, remote_answer& answer) {
    if (!active()) return false;
    submit(new outgoing_call(function, std::move(args), answer));
    return true;
}
inline constexpr remote_transport to_workers{&submit_call};

/// A worker's answer to one call of a distributed function: the reply owed to rank 0.
class answer_to_root final : public remote_answer {
public:
    explicit answer_to_root(reply r) noexcept : reply_(std::move(r)) {}

    void remote_done(std::string result) noexcept override {
        try {
            reply_.done(std::move(result));
        } catch (...) {  // already answered: cannot happen, the reply is this object's
        }
        delete this;
    }
    void remote_failed(std::exception_ptr error) noexcept override {
        try {
            reply_.fail(error);
        } catch (...) {
        }
        delete this;
    }

private:
    reply reply_;
};

/// The handler of every distributed function on a worker; `context` is its entry.
inline void serve_distributed(const void* context, std::string args, reply& r) {
    const auto& f = *static_cast<const distributed_function*>(context);
    auto* answer = new answer_to_root(std::move(r));  // if this throws, r is still owed
    f.serve(*f.core, std::move(args), *answer);
}

/// What the build check compares besides the fingerprint: the ids of the registered handlers
/// (the distributed functions among them) and the full hashes of every named function.
inline std::uint64_t functions_digest() {
    std::string ids;
    wire::put_u64(ids, handlers().digest());
    for (std::uint64_t h : registry::get().named_full_hashes()) wire::put_u64(ids, h);
    return xxh3_64(std::string_view(ids), 0x66756e6374696f6eull);  // "function"
}

/// Registers a handler for each distributed function of this program, by its full hash (its
/// version resolved now, after static initialization), and makes the build check compare every
/// function's full hash (functions_digest) unless the program replaced its digest.
inline void register_distributed() {
    for (const distributed_function& f : distributed_functions())
        register_handler(full_hash(*f.core), &serve_distributed, &f);
    if (build_digest() == &handlers_digest) build_digest() = &functions_digest;  // not replaced
}

}  // namespace desync::detail::mpi
