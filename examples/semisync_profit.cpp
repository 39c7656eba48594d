// semisync's revenue/expenses/profit: profit depends on two calls it shares no data with,
// callbacks print each result, and a batch starts the queued calls together.
#include <desync/desync.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <utility>
#include <vector>

struct books {
    int revenue = 0, expenses = 0;
} shared[5];

int roll(int most) {
    thread_local std::mt19937 gen{std::random_device{}()};
    return std::uniform_int_distribution<int>(1, most)(gen);
}
void output(std::pair<const char*, int> r) { std::printf("%s: $%d\n", r.first, r.second); }

DESYNC_FN(
    revenue,
    [](books* b) {  // a simulated API call
        std::this_thread::sleep_for(std::chrono::milliseconds(roll(100)));
        return std::pair{"Revenue", b->revenue = roll(1000)};
    },
    desync::uncached, desync::blocking);
DESYNC_FN(
    expenses,
    [](books* b) {
        std::this_thread::sleep_for(std::chrono::milliseconds(roll(100)));
        return std::pair{"Expenses", b->expenses = roll(500)};
    },
    desync::uncached, desync::blocking);
DESYNC_FN(
    profit,
    [](books* b) {
        return std::pair{"Profit", b->revenue - b->expenses};
    },
    desync::uncached);

int main() {
    desync::batch calls;
    std::vector<desync::lazy<void>> printed;
    for (books& b : shared) {
        auto r = calls.add(revenue, &b), e = calls.add(expenses, &b);
        for (auto& l : {r, e, calls.add(profit, desync::after(r, e), &b)})
            printed.push_back(l.then(output));
    }
    calls.begin();
}
