#pragma once
// Out-of-line definitions of <desync/error.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/error.hpp>

namespace desync::detail {

DESYNC_DECL bool is_cancellation(const std::exception_ptr& e) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const cancelled&) {
        return true;
    } catch (...) {
        return false;
    }
}

DESYNC_DECL std::exception_ptr combine_errors(std::vector<std::exception_ptr> errors) {
    if (errors.empty()) return nullptr;
    if (errors.size() == 1) return errors.front();
    std::vector<std::exception_ptr> flat;
    for (auto& e : errors) {
        try {
            std::rethrow_exception(e);
        } catch (const exception_list& list) {
            flat.insert(flat.end(), list.errors().begin(), list.errors().end());
        } catch (...) {
            flat.push_back(e);
        }
    }
    return std::make_exception_ptr(exception_list(std::move(flat)));
}

}  // namespace desync::detail

namespace desync {

DESYNC_DECL exception_list::exception_list(std::vector<std::exception_ptr> errors)
    : errors_(std::move(errors)), what_(describe(errors_)) {}

DESYNC_DECL const char* exception_list::what() const noexcept { return what_.c_str(); }

DESYNC_DECL std::string exception_list::describe(const std::vector<std::exception_ptr>& errors) {
    std::string out = "desync: " + std::to_string(errors.size()) + " calls failed";
    for (const auto& e : errors) out += "; " + message_of(e);
    return out;
}

DESYNC_DECL std::string exception_list::message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "(an exception not derived from std::exception)";
    }
}

}  // namespace desync
