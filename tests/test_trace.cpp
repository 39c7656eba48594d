// Tracing, counters and the progress line, checked structurally: the trace of a known program
// parses as strict JSON and holds one slice per call on the threads that ran them (calls that
// meet at a barrier must run on two threads at once), the call graph is accepted by `dot`,
// counters match counted executions, and nothing is recorded or counted while everything is off.

#include <desync/desync.hpp>
#include <desync/trace_env.hpp>  // DESYNC_TRACE, for the test of tracing by environment

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/meeting.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

// --- a small strict JSON parser (RFC 8259): enough to read a trace back

struct json {
    enum class kind { null, boolean, number, string, array, object } type = kind::null;
    bool flag = false;
    double number = 0;
    std::string text;
    std::vector<json> items;         // an array's items, or an object's member values
    std::vector<std::string> names;  // an object's member names

    const json* find(std::string_view key) const {
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == key) return &items[i];
        return nullptr;
    }
    const json& at(std::string_view key) const {
        if (const json* v = find(key)) return *v;
        throw std::runtime_error("json: no member " + std::string(key));
    }
};

class json_parser {
public:
    explicit json_parser(std::string_view text) : t_(text) {}

    json parse() {
        json v = value();
        space();
        if (i_ != t_.size()) fail("trailing characters");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw std::runtime_error("json: " + why + " at offset " + std::to_string(i_));
    }
    void space() {
        while (i_ < t_.size() && std::string_view(" \n\r\t").find(t_[i_]) != std::string_view::npos)
            ++i_;
    }
    char peek() {
        space();
        if (i_ >= t_.size()) fail("unexpected end");
        return t_[i_];
    }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected ") + c);
        ++i_;
    }
    bool literal(std::string_view word) {
        if (t_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }

    json value() {
        const char c = peek();
        json v;
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return v.type = json::kind::string, v.text = string(), v;
        if (literal("true")) return v.type = json::kind::boolean, v.flag = true, v;
        if (literal("false")) return v.type = json::kind::boolean, v;
        if (literal("null")) return v;
        return number();
    }

    json object() {
        json v;
        v.type = json::kind::object;
        expect('{');
        if (peek() == '}') return ++i_, v;
        for (;;) {
            if (peek() != '"') fail("expected a member name");
            std::string key = string();
            expect(':');
            v.names.push_back(std::move(key));
            v.items.push_back(value());
            if (peek() == ',') {
                ++i_;
                continue;
            }
            expect('}');
            return v;
        }
    }

    json array() {
        json v;
        v.type = json::kind::array;
        expect('[');
        if (peek() == ']') return ++i_, v;
        for (;;) {
            v.items.push_back(value());
            if (peek() == ',') {
                ++i_;
                continue;
            }
            expect(']');
            return v;
        }
    }

    json number() {
        const std::size_t start = i_;
        auto digits = [&] {
            std::size_t from = i_;
            while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
            return i_ - from;
        };
        if (i_ < t_.size() && t_[i_] == '-') ++i_;
        if (i_ < t_.size() && t_[i_] == '0')
            ++i_;
        else if (!digits())
            fail("bad number");
        if (i_ < t_.size() && t_[i_] == '.' && (++i_, !digits())) fail("bad fraction");
        if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
            ++i_;
            if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
            if (!digits()) fail("bad exponent");
        }
        json v;
        v.type = json::kind::number;
        v.number = std::stod(std::string(t_.substr(start, i_ - start)));
        return v;
    }

    unsigned hex4() {
        if (i_ + 4 > t_.size()) fail("short \\u escape");
        unsigned u = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = t_[i_++];
            u = u * 16 + (c >= '0' && c <= '9'   ? unsigned(c - '0')
                          : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                          : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10)
                                                 : (fail("bad hex digit"), 0u));
        }
        return u;
    }

    static void utf8(std::string& out, unsigned cp) {
        if (cp < 0x80)
            out += char(cp);
        else if (cp < 0x800)
            out += char(0xC0 | cp >> 6), out += char(0x80 | (cp & 0x3F));
        else if (cp < 0x10000)
            out += char(0xE0 | cp >> 12), out += char(0x80 | (cp >> 6 & 0x3F)),
                out += char(0x80 | (cp & 0x3F));
        else
            out += char(0xF0 | cp >> 18), out += char(0x80 | (cp >> 12 & 0x3F)),
                out += char(0x80 | (cp >> 6 & 0x3F)), out += char(0x80 | (cp & 0x3F));
    }

    std::string string() {
        expect('"');
        std::string out;
        for (;;) {
            if (i_ >= t_.size()) fail("unterminated string");
            const char c = t_[i_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= t_.size()) fail("unterminated escape");
            switch (const char e = t_[i_++]) {
                case '"':
                case '\\':
                case '/':
                    out += e;
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    unsigned cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00) {
                        if (!literal("\\u")) fail("lone high surrogate");
                        const unsigned low = hex4();
                        if (low < 0xDC00 || low >= 0xE000) fail("bad low surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp < 0xE000) {
                        fail("lone low surrogate");
                    }
                    utf8(out, cp);
                    break;
                }
                default:
                    fail("bad escape");
            }
        }
    }

    std::string_view t_;
    std::size_t i_ = 0;
};

// --- helpers

std::string json_of(const desync::trace_log& log) {
    std::ostringstream out;
    log.write_json(out);
    return out.str();
}

std::vector<const json*> events(const json& doc, std::string_view ph, std::string_view cat = {}) {
    std::vector<const json*> out;
    for (const json& e : doc.at("traceEvents").items)
        if (e.at("ph").text == ph && (cat.empty() || (e.find("cat") && e.at("cat").text == cat)))
            out.push_back(&e);
    return out;
}

std::filesystem::path scratch(const std::string& name) {
    return desync::test::scratch_dir("trace") / name;
}

bool have(const char* tool) {
    return std::system(("command -v " + std::string(tool) + " >/dev/null 2>&1").c_str()) == 0;
}

// `dot` reads the graph and draws it: exit status 0 means it accepted every statement.
void check_dot_accepts(const desync::trace_log& log, const std::string& name) {
    if (!have("dot")) {
        WARN("graphviz `dot` is not installed: the DOT output was not checked");
        return;
    }
    const auto path = scratch(name + ".dot");
    log.write(path);
    const std::string command = "dot -Tsvg '" + path.string() + "' -o /dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
}

desync::test::meeting two_meet(2);
desync::pool two_threads(2);
std::atomic<int> executions{0};

}  // namespace

// Two calls that meet can only finish if they run at once: on both threads of the pool.
DESYNC_FN(
    meet,
    [](int) {
        ++executions;
        return two_meet.arrive_and_wait();
    },
    desync::uncached, desync::on(two_threads));
DESYNC_FN(
    meet_pair,
    [] {
        ++executions;
        auto a = meet(1);
        auto b = meet(2);
        return a.get() && b.get();
    },
    desync::uncached, desync::on(two_threads));

TEST_CASE("a trace holds one slice per call, on one lane per thread that ran calls", "[trace]") {
    two_meet.reset(2);
    executions = 0;
    desync::trace::start();
    REQUIRE(meet_pair().get());
    const desync::trace_log log = desync::trace::stop();

    REQUIRE(executions == 3);
    REQUIRE(log.calls().size() == 3);
    REQUIRE(log.lanes().size() == 2);  // the main thread only made the root call: no lane
    const json doc = json_parser(json_of(log)).parse();
    const auto slices = events(doc, "X", "call");
    REQUIRE(slices.size() == 3);
    std::set<double> ids, lanes;
    for (const json* s : slices) {
        ids.insert(s->at("args").at("call").number);
        lanes.insert(s->at("tid").number);
        REQUIRE(s->at("dur").number >= 0);
    }
    REQUIRE(ids == std::set<double>{1, 2, 3});
    REQUIRE(lanes.size() == 2);
    REQUIRE(events(doc, "M").size() == 1 + 2 * 2);  // process name; a name and order per lane
    std::set<std::string> names;
    for (const json* m : events(doc, "M"))
        if (m->at("name").text == "thread_name") names.insert(m->at("args").at("name").text);
    REQUIRE(names == std::set<std::string>(log.lanes().begin(), log.lanes().end()));

    // The root call has no parent; the meets were made by it.
    REQUIRE(log.calls()[0].name == "meet_pair");
    REQUIRE(log.calls()[0].parent == 0);
    for (int i = 1; i < 3; ++i) {
        REQUIRE(log.calls()[i].name == "meet");
        REQUIRE(log.calls()[i].parent == 1);
        REQUIRE(log.calls()[i].outcome == desync::call_outcome::ran);
    }
    check_dot_accepts(log, "pair");
}

DESYNC_FN(
    plus_one,
    [](int v) {
        ++executions;
        return v + 1;
    },
    desync::uncached);
DESYNC_FN(
    chain, [](int v) { return plus_one(plus_one(v)); }, desync::uncached);
DESYNC_FN(
    thrower,
    [](int) -> int {
        ++executions;
        throw std::runtime_error("thrown on purpose");
    },
    desync::uncached);
DESYNC_FN(
    after_thrower,
    [](int v) {
        ++executions;
        return v;
    },
    desync::uncached);
DESYNC_FN(
    fails_at_join, [] { after_thrower(thrower(1)); }, desync::uncached);

TEST_CASE("data edges, joins, failures and skipped calls are in the trace and the graph",
          "[trace]") {
    desync::trace::start();
    REQUIRE(chain(1).get() == 3);
    REQUIRE_THROWS_AS(fails_at_join().get(), std::runtime_error);
    const desync::trace_log log = desync::trace::stop();

    REQUIRE(log.calls().size() == 6);
    const auto& c = log.calls();
    REQUIRE(c[2].name == "plus_one");
    REQUIRE(c[2].inputs == std::vector<std::uint64_t>{c[1].id});  // plus_one(plus_one(v))
    REQUIRE(c[4].name == "thrower");
    REQUIRE(c[4].failed);
    REQUIRE(c[5].outcome == desync::call_outcome::skipped);  // its input failed: it never ran
    REQUIRE(c[5].inputs == std::vector<std::uint64_t>{c[4].id});
    REQUIRE(c[3].failed);  // fails_at_join reports the error at its join
    for (const auto& call : c) REQUIRE(call.end_ns >= call.begin_ns);

    const json doc = json_parser(json_of(log)).parse();
    REQUIRE(events(doc, "X", "call").size() == 5);     // every call that ran
    REQUIRE(events(doc, "i", "skipped").size() == 1);  // and the one that did not
    REQUIRE(events(doc, "b", "wait").size() == events(doc, "e", "wait").size());
    std::size_t joins = events(doc, "X", "join").size();
    REQUIRE(joins >= 1);  // chain waits at its join for the second plus_one at least
    check_dot_accepts(log, "edges");
}

TEST_CASE("memo hits reported by the memo hooks are marked in every format", "[trace]") {
    // The hook the memo table calls on the calling thread when it finds a result; called here
    // directly, so the marking is checked whatever the memo table does.
    auto& core = plus_one.core();
    const desync::hash128 key{0x0123456789abcdefull, 0xfedcba9876543210ull};
    desync::trace::start();
    const std::uint64_t id = desync::detail::trace_hooks::hit(core, nullptr, key, 2'000'000'000);
    const desync::trace_log log = desync::trace::stop();

    REQUIRE(id != 0);
    REQUIRE(log.calls().size() == 1);
    const auto& hit = log.calls()[0];
    REQUIRE(hit.outcome == desync::call_outcome::hit);
    REQUIRE(hit.keyed);
    REQUIRE(hit.key == key);
    REQUIRE(hit.saved_ns == 2'000'000'000);
    REQUIRE(log.lanes() == std::vector<std::string>{"main"});

    const json doc = json_parser(json_of(log)).parse();
    const auto marks = events(doc, "i", "hit");
    REQUIRE(marks.size() == 1);
    REQUIRE(marks[0]->at("args").at("key").text == key.to_hex());
    REQUIRE(marks[0]->at("args").at("cache").text == "hit");
    REQUIRE(events(doc, "X", "call").empty());

    std::ostringstream dot, svg;
    log.write_dot(dot);
    log.write_svg(svg);
    REQUIRE(dot.str().find("dashed") != std::string::npos);  // hits are styled apart
    REQUIRE(svg.str().find("(hit)") != std::string::npos);
    check_dot_accepts(log, "hit");
}

DESYNC_FN(slow_inc, [](int v) {
    ++executions;
    return v + 1;
});
DESYNC_FN(twice, [](int v) { return slow_inc(slow_inc(v)); });

// Runs twice(0), then again with the first run's cache installed, if the memo table exists.
template <class F>
bool run_twice_with_cache(const F& f) {
    if constexpr (requires { f.set_cache(f.get_cache()); }) {
        REQUIRE(f(0).get() == 2);
        f.set_cache(f.get_cache());
        REQUIRE(f(0).get() == 2);
        return true;
    } else {
        return false;
    }
}

TEST_CASE("a cached rerun: its hits are counted and marked", "[trace][memo]") {
    desync::trace::reset_counters();
    executions = 0;
    desync::trace::start();
    const bool memo = run_twice_with_cache(twice);
    const desync::trace_log log = desync::trace::stop();
    if (!memo) {
        WARN("no memo table yet (get_cache/set_cache): hits and misses not checked");
        return;
    }
    REQUIRE(executions == 2);  // only the first run executed slow_inc
    const auto counts = slow_inc.counters();
    REQUIRE(counts.calls == 4);
    REQUIRE(counts.misses == 2);
    REQUIRE(counts.hits == 2);
    std::size_t hits = 0;
    for (const auto& c : log.calls()) hits += c.outcome == desync::call_outcome::hit;
    REQUIRE(hits == 2);
    const json doc = json_parser(json_of(log)).parse();
    REQUIRE(events(doc, "i", "hit").size() == 2);
    check_dot_accepts(log, "twice");
}

DESYNC_FN(
    sometimes_fails,
    [](int i) {
        ++executions;
        if (i % 3 == 0) throw std::runtime_error("every third call fails");
        return i;
    },
    desync::uncached);
DESYNC_FN(
    many_calls,
    [](int n) {
        std::vector<desync::lazy<int>> results;
        for (int i = 0; i < n; ++i) results.push_back(sometimes_fails(i));
        int failures = 0;
        for (auto& r : results) {
            try {
                r.get();
            } catch (const std::runtime_error&) {
                ++failures;
            }
        }
        return failures;
    },
    desync::uncached);

TEST_CASE("counters match the executions, and count nothing while off", "[trace][counters]") {
    desync::trace::reset_counters();
    executions = 0;
    REQUIRE(many_calls(30).get() == 10);  // counting is off: nothing counted
    REQUIRE(sometimes_fails.counters() == desync::call_counters{});
    REQUIRE(desync::trace::totals() == desync::call_counters{});

    executions = 0;
    desync::trace::count(true);
    REQUIRE(desync::trace::counting());
    REQUIRE(many_calls(30).get() == 10);
    desync::trace::count(false);
    const auto counts = sometimes_fails.counters();
    REQUIRE(counts.calls == static_cast<std::uint64_t>(executions.load()));
    REQUIRE(counts.calls == 30);
    REQUIRE(counts.failed == 10);
    REQUIRE(counts.hits == 0);
    REQUIRE(many_calls.counters().calls == 1);
    REQUIRE(many_calls.counters().failed == 0);  // it read every error itself
    const auto totals = desync::trace::totals();
    REQUIRE(totals.calls == 31);
    REQUIRE(totals.failed == 10);

    REQUIRE(many_calls(30).get() == 10);  // off again: the counts stay
    REQUIRE(sometimes_fails.counters() == counts);
    desync::trace::reset_counters();
    REQUIRE(sometimes_fails.counters() == desync::call_counters{});
}

TEST_CASE("tracing off records nothing, calls made while off stay out of a later trace",
          "[trace]") {
    static desync::test::gate gate;
    gate.reset();
    auto blocked = desync::async([] { return gate.wait(); });  // made while tracing is off
    REQUIRE(chain(1).get() == 3);
    desync::trace::start();
    gate.open();
    REQUIRE(blocked.get());  // it finishes while tracing is on
    const desync::trace_log log = desync::trace::stop();
    REQUIRE(log.calls().empty());
    REQUIRE(log.lanes().empty());
    const json doc = json_parser(json_of(log)).parse();
    REQUIRE(events(doc, "X").empty());
    REQUIRE_FALSE(desync::trace::running());
    REQUIRE_FALSE(desync::trace::counting());
    REQUIRE_THROWS_AS(desync::trace::stop(), desync::error);
}

TEST_CASE("a call still running when the trace stops is listed as unfinished", "[trace]") {
    static desync::test::gate gate;
    gate.reset();
    desync::trace::start();
    auto blocked = desync::async([] { return gate.wait(); });
    const desync::trace_log log = desync::trace::stop();
    gate.open();
    REQUIRE(blocked.get());
    REQUIRE(log.calls().size() == 1);
    REQUIRE(log.calls()[0].outcome == desync::call_outcome::unfinished);
    REQUIRE(log.calls()[0].name == "desync::async");
    const json doc = json_parser(json_of(log)).parse();
    REQUIRE(events(doc, "X").empty());
    check_dot_accepts(log, "unfinished");

    desync::trace::start();  // a new trace starts empty
    REQUIRE(chain(1).get() == 3);
    REQUIRE(desync::trace::stop().calls().size() == 3);
}

TEST_CASE("names are escaped in JSON, DOT and SVG", "[trace]") {
    auto odd = desync::desync([] {});
    const std::string name = "we\"ird\\name\n<&>\x01 \xff end";
    odd.core().name = name;  // a name no macro can make: quotes, backslash, control, bad UTF-8
    desync::trace::start();
    odd().get();
    const desync::trace_log log = desync::trace::stop();

    const json doc = json_parser(json_of(log)).parse();
    const auto slices = events(doc, "X", "call");
    REQUIRE(slices.size() == 1);
    REQUIRE(slices[0]->at("name").text == "we\"ird\\name\n<&>\x01 \xEF\xBF\xBD end");
    check_dot_accepts(log, "escaped");
    if (have("python3")) {
        const auto svg = scratch("escaped.svg");
        log.write(svg);
        const std::string command =
            "python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' '" + svg.string() +
            "'";
        REQUIRE(std::system(command.c_str()) == 0);
    }
}

TEST_CASE("trace_log::write picks the format by extension, one trace at a time", "[trace]") {
    desync::trace::start();
    REQUIRE_THROWS_AS(desync::trace::start(), desync::error);
    REQUIRE_THROWS_AS(desync::tracing(), desync::error);
    REQUIRE(chain(1).get() == 3);
    const desync::trace_log log = desync::trace::stop();
    const std::pair<const char*, const char*> formats[] = {{"formats.json", "{"},
                                                           {"formats.dot", "digraph"},
                                                           {"formats.gv", "digraph"},
                                                           {"formats.svg", "<svg"}};
    for (const auto& [file, start] : formats) {
        log.write(scratch(file));
        std::ifstream in(scratch(file));
        std::string first;
        in >> first;
        REQUIRE(first.rfind(start, 0) == 0);
    }
}

TEST_CASE("the tracing object writes its file, unknown extensions are refused", "[trace]") {
    const auto path = scratch("scoped.json");
    {
        desync::tracing t(path);
        REQUIRE(chain(1).get() == 3);
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const json doc = json_parser(text.str()).parse();
    REQUIRE(events(doc, "X", "call").size() == 3);
    REQUIRE_THROWS_AS(desync::trace_log{}.write(scratch("trace.txt")), desync::error);
    REQUIRE_THROWS_AS(desync::trace::stop(), desync::error);
}

// Run by the next test in a child process with DESYNC_TRACE set; hidden from normal runs.
TEST_CASE("child: calls traced through the environment", "[.]") { REQUIRE(chain(1).get() == 3); }

TEST_CASE("DESYNC_TRACE traces a program that includes trace_env.hpp, writing files at exit",
          "[trace][env]") {
    const auto json_path = scratch("env.json"), dot_path = scratch("env.dot");
    std::filesystem::remove(json_path);
    std::filesystem::remove(dot_path);
    const auto self = std::filesystem::read_symlink("/proc/self/exe");
    const std::string command = "DESYNC_TRACE='" + json_path.string() + "," + dot_path.string() +
                                "' '" + self.string() +
                                "' 'child: calls traced through the environment' >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream in(json_path);
    std::stringstream text;
    text << in.rdbuf();
    const json doc = json_parser(text.str()).parse();
    REQUIRE(events(doc, "X", "call").size() == 3);
    REQUIRE(std::filesystem::file_size(dot_path) > 0);
}

namespace {

// Points stderr (fd 2) somewhere else for the life of this object.
class stderr_redirect {
public:
    explicit stderr_redirect(int fd) : saved_(::dup(2)) {
        std::fflush(stderr);
        ::dup2(fd, 2);
    }
    stderr_redirect(const stderr_redirect&) = delete;
    stderr_redirect& operator=(const stderr_redirect&) = delete;
    ~stderr_redirect() {
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
    }

private:
    int saved_;
};

// Reads from `fd` until `done(text)` holds, or gives up after the hang limit.
template <class Done>
std::string read_until(int fd, std::string text, Done done) {
    const auto give_up = std::chrono::steady_clock::now() + desync::test::hang_limit;
    while (!done(text) && std::chrono::steady_clock::now() < give_up) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buffer[512];
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

}  // namespace

TEST_CASE("the progress line is silent when stderr is not a terminal", "[trace][progress]") {
    const auto path = scratch("stderr.txt");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    bool on = true;
    {
        stderr_redirect to_file(fd);
        on = desync::trace::progress(true);
        REQUIRE(chain(1).get() == 3);
        desync::trace::progress(false);
    }
    ::close(fd);
    REQUIRE_FALSE(on);
    REQUIRE_FALSE(desync::trace::counting());
    REQUIRE(std::filesystem::file_size(path) == 0);
}

TEST_CASE("the progress line shows on a terminal while calls run, and is cleared after",
          "[trace][progress]") {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
        WARN("no pseudo-terminal: the progress line was not checked");
        return;
    }
    const int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
    REQUIRE(terminal >= 0);
    static desync::test::gate gate;
    gate.reset();
    bool on = false, ran = false;
    std::string shown, all;
    {
        stderr_redirect to_terminal(terminal);
        on = desync::trace::progress(true);
        auto blocked = desync::async([] { return gate.wait(); });
        // The line appears while the call waits (drawn by the progress thread), whenever that is.
        shown = read_until(master, "", [](const std::string& t) {
            return t.find("calls finished") != std::string::npos;
        });
        gate.open();
        ran = blocked.get();
        desync::trace::progress(false);
        all = read_until(master, shown, [](const std::string& t) {
            return t.size() >= 4 && t.compare(t.size() - 4, 4, "\r\033[K") == 0 &&
                   t.rfind("\r\033[K") > t.rfind("calls finished");
        });
    }
    ::close(terminal);
    ::close(master);
    REQUIRE(on);
    REQUIRE(ran);
    REQUIRE(shown.find("desync: 0/1 calls finished, 0 hits") != std::string::npos);
    REQUIRE(all.size() >= 4);
    REQUIRE(all.compare(all.size() - 4, 4, "\r\033[K") == 0);  // cleared at the end
    REQUIRE_FALSE(desync::trace::counting());
}
