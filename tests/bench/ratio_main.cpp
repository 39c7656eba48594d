// The one main of every benchmark program: runs Google Benchmark as usual, then prints, for each
// case, desync's real time per iteration against each peer's, measured in the same run.
//
// Naming: `<case>/desync` and `<case>/peer:<name>`. Whatever Google Benchmark appends (arguments,
// `threads:N`) stays part of the case; run modifiers (`iterations:N`, `repeats:N`, `min_time:X`,
// `real_time`, ...) are dropped, so both sides pair up. Repetitions are averaged.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Mean {
    double total_ns = 0;
    int count = 0;
    double ns() const { return total_ns / count; }
};

struct Case {
    Mean desync;
    std::map<std::string, Mean> peers;  // by peer name
};

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string ns(const Mean& mean) {
    std::string text = fixed(mean.ns(), 1) + " ns";
    return std::string(text.size() < 12 ? 12 - text.size() : 0, ' ') + text;
}

bool is_modifier(const std::string& part) {
    for (const char* prefix : {"iterations:", "repeats:", "min_time:", "min_warmup_time:"}) {
        if (part.rfind(prefix, 0) == 0) return true;
    }
    return part == "real_time" || part == "process_time" || part == "manual_time";
}

/// Collects every plain (non-aggregate, error-free) run while the console shows it as usual.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    using ConsoleReporter::ConsoleReporter;

    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            if (run.run_type == Run::RT_Iteration && !run.error_occurred) record(run);
        }
        ConsoleReporter::ReportRuns(runs);
    }

    void print_ratios() const {
        std::ostream& out = GetOutputStream();
        out << "\nratio desync/peer (real time per iteration; below 1: desync is faster)\n";
        std::size_t width = 0;
        for (const std::string& name : order_) width = std::max(width, name.size());
        for (const std::string& name : order_) {
            const Case& c = cases_.at(name);
            const std::string label = name + std::string(width - name.size(), ' ');
            if (c.desync.count == 0) {
                out << label << "  (no desync run)\n";
                continue;
            }
            if (c.peers.empty()) out << label << "  desync " << ns(c.desync) << "  (no peer)\n";
            for (const auto& [peer, mean] : c.peers) {
                out << label << "  desync " << ns(c.desync) << "  peer " << peer << ' ' << ns(mean)
                    << "  ratio desync/peer " << fixed(c.desync.ns() / mean.ns(), 3) << '\n';
            }
        }
        out << std::flush;
    }

private:
    void record(const Run& run) {
        std::istringstream parts(run.benchmark_name());
        std::string part, name, role;
        while (std::getline(parts, part, '/')) {
            if (role.empty() && (part == "desync" || part.rfind("peer:", 0) == 0)) {
                role = part;
            } else if (!is_modifier(part)) {
                name += (name.empty() ? "" : "/") + part;
            }
        }
        if (role.empty()) return;  // not part of a comparison
        auto [it, fresh] = cases_.try_emplace(name);
        if (fresh) order_.push_back(name);
        Mean& mean = role == "desync" ? it->second.desync : it->second.peers[role.substr(5)];
        double seconds =
            run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
        mean.total_ns += seconds * 1e9;
        ++mean.count;
    }

    std::map<std::string, Case> cases_;
    std::vector<std::string> order_;  // first-seen order, as the console showed them
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    RatioReporter reporter(isatty(fileno(stdout)) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                  : benchmark::ConsoleReporter::OO_Tabular);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_ratios();
    benchmark::Shutdown();
    return 0;
}
