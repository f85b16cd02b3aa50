// A parallel genetic algorithm searching trading strategies, in miniature: the market data and
// each generation's population are shared with the fitness tasks without copies, and
// selection and mutation breed the next generation. Where the data lives is a storage backend
// chosen by configuration (EVOLVE_STORAGE): `shared` (the default) puts it in weft's object
// arena, and the scoring tasks are registered functions that may run on other nodes of a
// cluster, each reading the one copy pulled there; `local` keeps it in this process and scores
// with local tasks. The same search then runs serially with the same seed: the results must
// match, and the program prints the speedup. With WEFT_ADDRESS set it is a cluster driver (the
// same program started with WEFT_ROLE=worker serves the scoring tasks); see examples/cluster/.
//
// usage: EVOLVE_STORAGE=shared|local evolve [generations=20] [population=128] [seed=7]
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace {

// A price series and its prefix sums (moving averages in O(1)); shared by every task.
struct market {
  std::vector<double> prices;
  std::vector<double> prefix;  // prefix[i] = sum of prices[0, i)

  double average(std::size_t end, std::size_t window) const {
    return (prefix[end] - prefix[end - window]) / static_cast<double>(window);
  }
  // Plain data: the arena may spill it through cereal when memory is short.
  template <class Archive>
  void serialize(Archive& archive) {
    archive(prices, prefix);
  }
};

}  // namespace

// The arena counts an object's bytes with weft::size_of; a user type says what it holds.
template <>
struct weft::object_size<market> {
  static std::size_t of(const market& m) noexcept {
    return sizeof(m) + weft::size_of(m.prices) + weft::size_of(m.prefix);
  }
};

namespace {

// One strategy: go long when the fast moving average is above the slow one by `threshold`,
// flat otherwise; leave a position that lost more than `stop_loss`.
struct genome {
  int fast = 5;
  int slow = 50;
  double threshold = 0.0;
  double stop_loss = 0.05;
};
using population = std::vector<genome>;

constexpr int min_window = 2;
constexpr int max_window = 400;

market make_market(std::uint64_t seed, std::size_t length) {
  market m;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0002, 0.01);
  double price = 100.0;
  m.prices.reserve(length);
  for (std::size_t i = 0; i < length; ++i) {
    // Regime changes give trend-following strategies something to find.
    double drift = std::sin(static_cast<double>(i) / 5000.0) * 0.0004;
    price *= std::exp(step(rng) + drift);
    m.prices.push_back(price);
  }
  m.prefix.assign(length + 1, 0.0);
  for (std::size_t i = 0; i < length; ++i)
    m.prefix[i + 1] = m.prefix[i] + m.prices[i];
  return m;
}

// Sharpe-like score of a strategy over the whole series (higher is better).
double fitness(const market& m, const genome& g) {
  const std::size_t start = static_cast<std::size_t>(std::max(g.fast, g.slow));
  double sum = 0.0;
  double sum_sq = 0.0;
  std::size_t n = 0;
  bool in = false;
  double entry = 0.0;
  for (std::size_t t = start; t + 1 < m.prices.size(); ++t) {
    double fast = m.average(t + 1, static_cast<std::size_t>(g.fast));
    double slow = m.average(t + 1, static_cast<std::size_t>(g.slow));
    bool want = fast > slow * (1.0 + g.threshold);
    if (in && m.prices[t] < entry * (1.0 - g.stop_loss)) want = false;
    if (want && !in) entry = m.prices[t];
    in = want;
    double r = in ? std::log(m.prices[t + 1] / m.prices[t]) : 0.0;
    sum += r;
    sum_sq += r * r;
    ++n;
  }
  if (n == 0) return 0.0;
  double mean = sum / static_cast<double>(n);
  double var = sum_sq / static_cast<double>(n) - mean * mean;
  return var <= 0.0 ? 0.0 : mean / std::sqrt(var) * std::sqrt(252.0 * 390.0);
}

genome random_genome(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> window(min_window, max_window);
  std::uniform_real_distribution<double> threshold(0.0, 0.02);
  std::uniform_real_distribution<double> stop(0.01, 0.2);
  return genome{window(rng), window(rng), threshold(rng), stop(rng)};
}

// Tournament selection, uniform crossover and mutation: the next generation (elite kept).
population breed(const population& pop, const std::vector<double>& scores, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> pick(0, pop.size() - 1);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::normal_distribution<double> jitter(0.0, 1.0);
  auto tournament = [&] {
    std::size_t best = pick(rng);
    for (int k = 0; k < 3; ++k) {
      std::size_t other = pick(rng);
      if (scores[other] > scores[best]) best = other;
    }
    return pop[best];
  };
  population next;
  next.reserve(pop.size());
  next.push_back(pop[static_cast<std::size_t>(std::max_element(scores.begin(), scores.end()) -
                                              scores.begin())]);
  while (next.size() < pop.size()) {
    genome a = tournament();
    genome b = tournament();
    genome child{coin(rng) < 0.5 ? a.fast : b.fast, coin(rng) < 0.5 ? a.slow : b.slow,
                 coin(rng) < 0.5 ? a.threshold : b.threshold,
                 coin(rng) < 0.5 ? a.stop_loss : b.stop_loss};
    if (coin(rng) < 0.3) child.fast += static_cast<int>(std::lround(jitter(rng) * 5.0));
    if (coin(rng) < 0.3) child.slow += static_cast<int>(std::lround(jitter(rng) * 20.0));
    if (coin(rng) < 0.3) child.threshold += jitter(rng) * 0.002;
    if (coin(rng) < 0.3) child.stop_loss += jitter(rng) * 0.01;
    child.fast = std::clamp(child.fast, min_window, max_window);
    child.slow = std::clamp(child.slow, min_window, max_window);
    child.threshold = std::clamp(child.threshold, 0.0, 0.05);
    child.stop_loss = std::clamp(child.stop_loss, 0.005, 0.5);
    next.push_back(child);
  }
  return next;
}

// Scores pop[begin, end): one task's share of a generation.
std::vector<double> score_slice(const market& m, const population& pop, std::size_t begin,
                                std::size_t end) {
  std::vector<double> out;
  out.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i)
    out.push_back(fitness(m, pop[i]));
  return out;
}
// Registered: in a cluster (WEFT_ADDRESS set) the scoring tasks may run on the workers.
WEFT_REMOTE(score_slice);

struct run_result {
  std::vector<double> best_per_generation;
  genome best;
  double seconds = 0.0;
};

// What scoring a generation gives back: the population (now shared, immutable) and its scores.
struct scored {
  std::shared_ptr<const population> members;
  std::vector<double> scores;
};

// The search, with fitness evaluated by `score(population&&) -> scored`.
template <class Score>
run_result search(int generations, std::size_t size, std::uint64_t seed, Score&& score,
                  bool print) {
  auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed);
  population pop;
  for (std::size_t i = 0; i < size; ++i)
    pop.push_back(random_genome(rng));
  run_result result;
  for (int gen = 0; gen < generations; ++gen) {
    auto [members, scores] = score(std::move(pop));
    auto best = std::max_element(scores.begin(), scores.end());
    result.best_per_generation.push_back(*best);
    result.best = (*members)[static_cast<std::size_t>(best - scores.begin())];
    if (print) {
      std::printf(
          "generation %3d: best fitness %8.4f (fast %3d, slow %3d, threshold %.4f, "
          "stop %.3f)\n",
          gen, *best, result.best.fast, result.best.slow, result.best.threshold,
          result.best.stop_loss);
    }
    pop = breed(*members, scores, rng);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// Where the market data lives, and how a generation is scored against it.
class storage {
 public:
  virtual ~storage() = default;
  /// The backend's name, as EVOLVE_STORAGE spells it.
  virtual const char* name() const = 0;
  /// The market, for reading here.
  virtual const market& data() const = 0;
  /// Scores a generation: the population, now shared and immutable, and its scores.
  virtual scored score(population&& pop) = 0;
};

// The data stays in this process; each generation is scored by local tasks sharing it.
class local_storage final : public storage {
 public:
  local_storage(weft::runtime& rt, market m, std::size_t slices)
      : rt_(rt), data_(std::make_shared<const market>(std::move(m))), slices_(slices) {}
  const char* name() const override { return "local"; }
  const market& data() const override { return *data_; }
  scored score(population&& pop) override {
    auto members = std::make_shared<const population>(std::move(pop));
    std::vector<weft::ref<std::vector<double>>> parts;
    for (std::size_t s = 0; s < slices_; ++s) {
      std::size_t begin = members->size() * s / slices_;
      std::size_t end = members->size() * (s + 1) / slices_;
      parts.push_back(rt_.submit([data = data_, members, begin, end] {
        return score_slice(*data, *members, begin, end);
      }));
    }
    std::vector<double> scores;
    for (auto& part : parts) {
      const auto& values = part.get();
      scores.insert(scores.end(), values.begin(), values.end());
    }
    return scored{members, std::move(scores)};
  }

 private:
  weft::runtime& rt_;
  std::shared_ptr<const market> data_;
  std::size_t slices_;
};

// The data goes into the arena once; each generation's population is put there too, and
// registered scoring tasks read both by const reference, wherever they run.
class shared_storage final : public storage {
 public:
  shared_storage(weft::runtime& rt, market m, std::size_t slices)
      : rt_(rt), data_(rt.put(std::move(m))), view_(data_.share()), slices_(slices) {}
  const char* name() const override { return "shared"; }
  const market& data() const override { return *view_; }
  scored score(population&& pop) override {
    const std::size_t n = pop.size();
    weft::ref<population> shared = rt_.put(std::move(pop));
    std::vector<weft::ref<std::vector<double>>> parts;
    for (std::size_t s = 0; s < slices_; ++s) {
      std::size_t begin = n * s / slices_;
      std::size_t end = n * (s + 1) / slices_;
      parts.push_back(rt_.submit(score_slice, data_, shared, begin, end));
    }
    std::vector<double> scores;
    for (auto& part : parts) {
      const auto& values = part.get();
      scores.insert(scores.end(), values.begin(), values.end());
    }
    return scored{shared.share(), std::move(scores)};
  }

 private:
  weft::runtime& rt_;
  weft::ref<market> data_;
  std::shared_ptr<const market> view_;
  std::size_t slices_;
};

// The backend EVOLVE_STORAGE names (default: shared).
std::unique_ptr<storage> open_storage(weft::runtime& rt, market m, std::size_t slices) {
  const char* chosen = std::getenv("EVOLVE_STORAGE");
  if (chosen == nullptr || std::strcmp(chosen, "shared") == 0)
    return std::make_unique<shared_storage>(rt, std::move(m), slices);
  if (std::strcmp(chosen, "local") == 0)
    return std::make_unique<local_storage>(rt, std::move(m), slices);
  std::fprintf(stderr,
               "evolve: EVOLVE_STORAGE='%s' is not a storage backend; use shared or local\n",
               chosen);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const long generations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 20;
  const long size = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 128;
  const long seed = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 7;
  if (generations <= 0 || size < 2) {
    std::fprintf(stderr, "usage: evolve [generations > 0] [population >= 2] [seed]\n");
    return 2;
  }
  weft::runtime rt{weft::config::from_env()};
  const std::size_t slices = std::max<std::size_t>(1, rt.threads() * 4);
  std::unique_ptr<storage> store =
      open_storage(rt, make_market(static_cast<std::uint64_t>(seed), 100'000), slices);

  std::printf("evolve: %ld generations of %ld strategies on %u threads, %s storage\n", generations,
              size, rt.threads(), store->name());
  run_result parallel = search(
      static_cast<int>(generations), static_cast<std::size_t>(size),
      static_cast<std::uint64_t>(seed),
      [&](population&& pop) { return store->score(std::move(pop)); }, true);

  // Serial: the same search on the calling thread, reading the same market object.
  const market& m = store->data();
  auto serial_score = [&](population&& pop) {
    auto members = std::make_shared<const population>(std::move(pop));
    return scored{members, score_slice(m, *members, 0, members->size())};
  };
  run_result serial = search(static_cast<int>(generations), static_cast<std::size_t>(size),
                             static_cast<std::uint64_t>(seed), serial_score, false);

  if (serial.best_per_generation != parallel.best_per_generation) {
    std::fprintf(stderr, "evolve: the parallel and serial searches disagree\n");
    return 1;
  }
  weft::arena_stats stats = rt.arena_stats();
  std::printf("best strategy: fast %d, slow %d, threshold %.4f, stop %.3f, fitness %.4f\n",
              parallel.best.fast, parallel.best.slow, parallel.best.threshold,
              parallel.best.stop_loss, parallel.best_per_generation.back());
  std::printf("serial %.2f s, parallel %.2f s: speedup %.2fx on %u threads; same result\n",
              serial.seconds, parallel.seconds, serial.seconds / parallel.seconds, rt.threads());
  std::printf("arena: %llu objects, %.1f MiB in memory, %llu spills, %llu restores\n",
              static_cast<unsigned long long>(stats.objects),
              static_cast<double>(stats.bytes_in_memory) / (1024.0 * 1024.0),
              static_cast<unsigned long long>(stats.spills),
              static_cast<unsigned long long>(stats.restores));
  return 0;
}
