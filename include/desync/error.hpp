#pragma once
/// \file
/// The exceptions desync throws of its own accord.

#include <cstddef>
#include <desync/detail/core/attributes.hpp>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace desync {

/// Misuse detected at run time (a request larger than its budget, configure() after start, ...).
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A cache file that cannot be used: wrong magic, foreign build, wrong salt, unreadable.
class cache_error : public error {
public:
    using error::error;
};

/// A store that cannot be used: a file that is not a store (or not one this build reads), a bad
/// Redis URL, or a required store that went off (docs/stores.md).
class store_error : public error {
public:
    using error::error;
};

/// A call that never ran because it was cancelled (desync::batch::clear). Reading it throws
/// this; joins do not report it, since cancelling a call is not an error of its body.
class cancelled : public error {
public:
    using error::error;
};

/// Several calls of one body failed and none of their errors was read: all of them, in the
/// order their calls were made (the body's own exception, if any, first). Never nested.
class exception_list : public std::exception {
public:
    explicit exception_list(std::vector<std::exception_ptr> errors);
    /// The errors, each still throwable with std::rethrow_exception.
    const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }
    std::size_t size() const noexcept { return errors_.size(); }
    const char* what() const noexcept override;

private:
    static std::string describe(const std::vector<std::exception_ptr>& errors);
    static std::string message_of(const std::exception_ptr& e);
    std::vector<std::exception_ptr> errors_;
    std::string what_;
};

namespace detail {

/// True for a desync::cancelled error.
DESYNC_DECL bool is_cancellation(const std::exception_ptr& e) noexcept;

/// One error from a body and its unread children: the error itself when there is one,
/// an exception_list when there are several (flattened), nullptr when there is none.
DESYNC_DECL std::exception_ptr combine_errors(std::vector<std::exception_ptr> errors);

}  // namespace detail

/// An exception thrown by a call that ran on another MPI rank (a `desync::distributed` call):
/// the original exception's type name and message, and the rank it was thrown on.
class remote_error : public error {
public:
    /// `type_name` as demangled on the worker ("std::out_of_range"), `message` its what().
    remote_error(std::string type_name, const std::string& message, int rank)
        : error(message),
          type_name_(std::make_shared<const std::string>(std::move(type_name))),
          rank_(rank) {}
    /// The demangled name of the original exception's type, e.g. "std::out_of_range".
    std::string type_name() const { return *type_name_; }
    /// The MPI rank whose call threw.
    int rank() const noexcept { return rank_; }

private:
    std::shared_ptr<const std::string> type_name_;  // shared: copying an exception never throws
    int rank_;
};

}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/error.ipp>
#endif
