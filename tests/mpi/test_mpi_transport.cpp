// The MPI transport's parts that need no MPI: rank 0's queue, a worker's reply, the handler
// table and its digest, how an exception travels, and desync::remote_error. Also: a program
// that never constructs a cluster has no active transport, so its distributed calls run locally.
#include <desync/detail/mpi/transport.hpp>
#include <desync/error.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/catch.hpp"

namespace dm = desync::detail::mpi;

namespace {

struct test_job final : dm::remote_job {
    using remote_job::remote_job;
    void done(std::string r) noexcept override {
        result = std::move(r);
        ++done_calls;
    }
    void failed(std::exception_ptr e) noexcept override {
        error = e;
        ++failed_calls;
    }
    std::string result;
    std::exception_ptr error;
    int done_calls = 0;
    int failed_calls = 0;
};

struct sent_reply {
    std::uint64_t id;
    std::string bytes;
    bool failure;
};

struct test_sink final : dm::reply_sink {
    void send_reply(std::uint64_t id, std::string bytes, bool failure) noexcept override {
        sent.push_back({id, std::move(bytes), failure});
    }
    std::vector<sent_reply> sent;
};

dm::wire::failure_text failure_of(const sent_reply& r) {
    dm::wire::failure_text f;
    REQUIRE(r.failure);
    REQUIRE(dm::wire::decode_failure(r.bytes, f));
    return f;
}

namespace elsewhere {
struct custom_failure {};
}  // namespace elsewhere

void nothing(std::string, dm::reply&) {}
void other(std::string, dm::reply&) {}

}  // namespace

TEST_CASE("without a cluster no transport is active, and a submitted call fails at once") {
    CHECK_FALSE(dm::active());
    test_job job(42, "arguments");
    dm::submit(&job);
    CHECK(job.failed_calls == 1);
    CHECK(job.done_calls == 0);
    CHECK_THROWS_AS(std::rethrow_exception(job.error), desync::error);
    CHECK_FALSE(dm::withdraw(&job));  // never queued
}

TEST_CASE("rank 0's queue hands calls out oldest first, and a queued call can be withdrawn") {
    dm::job_queue q;
    CHECK_FALSE(q.is_open());
    q.open();
    test_job a(1, "a"), b(2, "b"), c(3, "c");
    dm::remote_job* abc[] = {&a, &b, &c};
    q.push(abc);
    CHECK(q.size() == 3);

    CHECK(q.withdraw(&b));
    CHECK_FALSE(q.withdraw(&b));  // once
    CHECK(q.size() == 2);

    std::chrono::steady_clock::time_point queued_at;
    CHECK(q.pop(queued_at) == &a);
    CHECK_FALSE(q.withdraw(&a));  // already taken for sending
    CHECK_FALSE(q.close_if_empty());
    CHECK(q.pop(queued_at) == &c);
    CHECK(q.pop(queued_at) == nullptr);
    CHECK(q.close_if_empty());

    test_job late(4, "late");
    dm::remote_job* one[] = {&late};
    q.push(one);  // closed: fails here, in this thread
    CHECK(late.failed_calls == 1);
    for (test_job* j : {&a, &b, &c}) CHECK(j->done_calls + j->failed_calls == 0);
}

TEST_CASE("a reply is sent exactly once, and a dropped reply fails its call") {
    test_sink sink;
    {
        dm::reply r(&sink, 7);
        CHECK(static_cast<bool>(r));
        dm::reply moved = std::move(r);
        CHECK_FALSE(static_cast<bool>(r));
        moved.done("result");
        CHECK_FALSE(static_cast<bool>(moved));
        CHECK_THROWS_AS(moved.done("again"), desync::error);
    }
    REQUIRE(sink.sent.size() == 1);
    CHECK(sink.sent[0].id == 7);
    CHECK(sink.sent[0].bytes == "result");
    CHECK_FALSE(sink.sent[0].failure);

    { dm::reply dropped(&sink, 8); }
    REQUIRE(sink.sent.size() == 2);
    CHECK(sink.sent[1].id == 8);
    auto f = failure_of(sink.sent[1]);
    CHECK(f.type == "desync::error");
    CHECK(f.message.find("dropped") != std::string::npos);
}

TEST_CASE("a failure carries the exception's demangled type name and its message") {
    test_sink sink;
    dm::reply(&sink, 1).fail(std::make_exception_ptr(std::out_of_range("index 7 is out of range")));
    dm::reply(&sink, 2).fail(std::make_exception_ptr(42));
    dm::reply(&sink, 3).fail(std::make_exception_ptr(elsewhere::custom_failure{}));
    REQUIRE(sink.sent.size() == 3);

    auto range = failure_of(sink.sent[0]);
    CHECK(range.type == "std::out_of_range");
    CHECK(range.message == "index 7 is out of range");
    auto number = failure_of(sink.sent[1]);
    CHECK(number.type == "int");
    CHECK(number.message.find("int") != std::string::npos);
    auto custom = failure_of(sink.sent[2]);
    CHECK(custom.type == "(anonymous namespace)::elsewhere::custom_failure");

    dm::wire::failure_text out;
    CHECK_FALSE(dm::wire::decode_failure("abc", out));  // shorter than its length field
    std::string lying = dm::wire::encode_failure({"t", "m"});
    lying[0] = 9;  // claims a longer type name than there are bytes
    CHECK_FALSE(dm::wire::decode_failure(lying, out));
}

TEST_CASE("remote_error keeps the type name, message and rank, and copies without throwing") {
    desync::remote_error e("std::out_of_range", "index 7 is out of range", 2);
    desync::remote_error copy = e;
    CHECK(copy.type_name() == "std::out_of_range");
    CHECK(std::string(copy.what()) == "index 7 is out of range");
    CHECK(copy.rank() == 2);
    STATIC_REQUIRE(std::is_nothrow_copy_constructible_v<desync::remote_error>);
    STATIC_REQUIRE(std::is_base_of_v<desync::error, desync::remote_error>);
}

TEST_CASE("the handler table's digest names the set of ids, whatever the registration order") {
    dm::handler_table one, two, three;
    one.add(1, &nothing);
    one.add(2, &other);
    two.add(2, &other);
    two.add(1, &nothing);
    two.add(1, &other);  // a second registration of an id keeps the first
    three.add(1, &nothing);
    three.add(3, &other);
    CHECK(one.digest() == two.digest());
    CHECK(one.digest() != three.digest());
    CHECK(two.find(1).plain == &nothing);
    CHECK_FALSE(two.find(9));
}
