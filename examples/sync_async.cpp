// trulens' pair: desync::async runs any callable on the pool and returns a lazy;
// desync::sync gets the value of any callable, waiting when it returns a lazy, a std::future
// or an asio::awaitable.
#include <desync/desync.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <future>

int plain(int x) { return x * 10; }

boost::asio::awaitable<int> coroutine(int x) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(boost::asio::use_awaitable);
    co_return x + 1;
}

std::future<int> future_of(int x) {
    return std::async(std::launch::async, [x] { return x * x; });
}

int main() {
    desync::lazy<int> started = desync::async(plain, 4);  // runs on the pool
    std::printf("async(plain, 4)        -> %d\n", started.get());
    std::printf("sync(plain, 5)         -> %d\n", desync::sync(plain, 5));
    std::printf("sync(coroutine, 6)     -> %d\n", desync::sync(coroutine, 6));
    std::printf("sync(future_of, 7)     -> %d\n", desync::sync(future_of, 7));
    std::printf("sync(async(plain, 8))  -> %d\n", desync::sync(desync::async(plain, 8)));
}
