#pragma once
// A Google Benchmark console reporter that also prints, at the end, the ratio of each weft
// benchmark to its baseline from the same run. Benchmarks are named "<workload>:<system>";
// "<workload>:weft" (and each variant "<workload>:weft_<how>") is compared with every other
// "<workload>:<baseline>".

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace weft_bench {

/// Collects each benchmark's real time per iteration and prints weft/baseline ratios.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration && run.aggregate_name != "median") continue;
      std::string name = run.run_name.str();
      auto colon = name.find(':');
      if (colon == std::string::npos) continue;
      std::string workload = name.substr(0, colon);
      std::string rest = name.substr(colon + 1);
      std::string system = rest.substr(0, rest.find('/'));
      std::string args = rest.find('/') == std::string::npos ? "" : rest.substr(rest.find('/'));
      times_[workload + args][system] = run.GetAdjustedRealTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nweft / baseline (real time, lower is better for weft):\n");
    for (const auto& [workload, systems] : times_) {
      for (const auto& [variant, weft_time] : systems) {
        if (!is_weft(variant)) continue;
        for (const auto& [system, t] : systems) {
          if (is_weft(system) || t <= 0) continue;
          std::printf("  %-32s %s/%-10s = %6.2fx\n", workload.c_str(), variant.c_str(),
                      system.c_str(), weft_time / t);
        }
      }
    }
  }

 private:
  // "weft", or a variant of it such as "weft_std_vector".
  static bool is_weft(const std::string& system) { return system.rfind("weft", 0) == 0; }
  std::map<std::string, std::map<std::string, double>> times_;
};

}  // namespace weft_bench

/// main() for a benchmark binary using ratio_reporter.
#define WEFT_BENCHMARK_MAIN()                                         \
  int main(int argc, char** argv) {                                   \
    benchmark::Initialize(&argc, argv);                               \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1; \
    weft_bench::ratio_reporter reporter;                              \
    benchmark::RunSpecifiedBenchmarks(&reporter);                     \
    benchmark::Shutdown();                                            \
    return 0;                                                         \
  }
