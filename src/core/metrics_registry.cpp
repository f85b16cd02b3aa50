// weft/metrics.hpp: the application's metrics, registered once per process by name.

#include "metrics_registry.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "sharded_sum.hpp"
#include "weft/errors.hpp"
#include "weft/metrics.hpp"

namespace weft::metrics::detail {

using weft::detail::metric_family;
using weft::detail::metric_sample;
using weft::detail::sharded_sum;

/// One series of a metric: a counter's sum, a gauge's value or a histogram's buckets.
struct series {
  explicit series(std::size_t buckets) : bucket_counts(buckets) {}
  sharded_sum<double> total;                              // counter: the sum; histogram: the sum
  std::atomic<double> level{0};                           // gauge
  std::vector<sharded_sum<std::uint64_t>> bucket_counts;  // histogram: per bucket, +Inf last
};

/// A named metric and its series by label values.
class family {
 public:
  family(std::string kind, std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds)
      : kind_(std::move(kind)),
        name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  /// True when this family was registered as `kind` with these help, labels and bounds.
  bool same_as(const family& other) const {
    return kind_ == other.kind_ && help_ == other.help_ && labels_ == other.labels_ &&
           bounds_ == other.bounds_;
  }

  /// A description for error messages: "counter 'x' (labels: a, b)".
  std::string describe() const {
    return fmt::format("{} '{}' (labels: [{}])", kind_, name_, fmt::join(labels_, ", "));
  }

  /// The series of `values`, made on first use; throws weft::error for a wrong number of values.
  series& at(const label_values& values) {
    if (values.size() != labels_.size()) {
      throw error(fmt::format("{} was given {} label values ([{}]); it takes one per label name",
                              describe(), values.size(), fmt::join(values, ", ")));
    }
    {
      std::shared_lock lock(mutex_);
      auto it = series_.find(values);
      if (it != series_.end()) return *it->second;
    }
    std::unique_lock lock(mutex_);
    auto& slot = series_[values];
    if (!slot) slot = std::make_unique<series>(kind_ == "histogram" ? bounds_.size() + 1 : 0);
    return *slot;
  }

  /// The series of `values` if it exists, else nullptr.
  const series* find(const label_values& values) const {
    std::shared_lock lock(mutex_);
    auto it = series_.find(values);
    return it == series_.end() ? nullptr : it->second.get();
  }

  const std::vector<double>& bounds() const noexcept { return bounds_; }

  /// The family and its series as plain data.
  metric_family snapshot() const {
    metric_family f{name_, kind_, help_, {}};
    std::shared_lock lock(mutex_);
    for (const auto& [values, s] : series_) {
      weft::detail::label_pairs labels;
      for (std::size_t i = 0; i < labels_.size(); ++i)
        labels.emplace_back(labels_[i], values[i]);
      if (kind_ == "counter") {
        f.samples.push_back({"", labels, s->total.sum()});
      } else if (kind_ == "gauge") {
        f.samples.push_back({"", labels, s->level.load(std::memory_order_relaxed)});
      } else {
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < s->bucket_counts.size(); ++b) {
          cumulative += s->bucket_counts[b].sum();
          auto with_le = labels;
          with_le.emplace_back("le", b < bounds_.size()
                                         ? weft::detail::prometheus_number(bounds_[b])
                                         : std::string("+Inf"));
          f.samples.push_back({"_bucket", std::move(with_le), static_cast<double>(cumulative)});
        }
        f.samples.push_back({"_sum", labels, s->total.sum()});
        f.samples.push_back({"_count", labels, static_cast<double>(cumulative)});
      }
    }
    return f;
  }

 private:
  const std::string kind_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;
  mutable std::shared_mutex mutex_;
  std::map<label_values, std::unique_ptr<series>> series_;
};

namespace {

struct registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<family>> families;  // by name, rendered in name order
};

registry& the_registry() {
  static registry* r = new registry;  // never destroyed: metrics may be updated during exit
  return *r;
}

std::shared_ptr<family> register_family(const std::string& kind, const std::string& name,
                                        const std::string& help,
                                        const std::vector<std::string>& labels,
                                        std::vector<double> bounds = {}) {
  if (!weft::detail::valid_metric_name(name)) {
    throw error(fmt::format(
        "'{}' cannot name a metric: use letters, digits, '_' and ':', not starting with a digit",
        name));
  }
  for (const std::string& label : labels) {
    if (!weft::detail::valid_label_name(label) || (kind == "histogram" && label == "le")) {
      throw error(fmt::format(
          "'{}' cannot name a label of metric '{}': use letters, digits and '_', not starting "
          "with a digit or '__'{}",
          label, name, kind == "histogram" ? "; 'le' is reserved for histogram buckets" : ""));
    }
  }
  auto made = std::make_shared<family>(kind, name, help, labels, std::move(bounds));
  registry& r = the_registry();
  std::lock_guard lock(r.mutex);
  auto [it, fresh] = r.families.try_emplace(name, made);
  if (!fresh && !it->second->same_as(*made)) {
    throw error(
        fmt::format("{} clashes with {} registered before under that name; give one of "
                    "them another name",
                    made->describe(), it->second->describe()));
  }
  return it->second;
}

}  // namespace

}  // namespace weft::metrics::detail

namespace weft::metrics {

counter::counter(const std::string& name, const std::string& help,
                 const std::vector<std::string>& label_names)
    : family_(detail::register_family("counter", name, help, label_names)) {}

void counter::inc(double amount, const label_values& labels) {
  if (!(amount >= 0)) {
    throw error(fmt::format("{} was given {}; a counter only goes up (use a gauge)",
                            family_->describe(), amount));
  }
  family_->at(labels).total.add(amount);
}

double counter::value(const label_values& labels) const {
  const detail::series* s = family_->find(labels);
  return s ? s->total.sum() : 0.0;
}

gauge::gauge(const std::string& name, const std::string& help,
             const std::vector<std::string>& label_names)
    : family_(detail::register_family("gauge", name, help, label_names)) {}

void gauge::set(double value, const label_values& labels) {
  family_->at(labels).level.store(value, std::memory_order_relaxed);
}

void gauge::add(double amount, const label_values& labels) {
  family_->at(labels).level.fetch_add(amount, std::memory_order_relaxed);
}

double gauge::value(const label_values& labels) const {
  const detail::series* s = family_->find(labels);
  return s ? s->level.load(std::memory_order_relaxed) : 0.0;
}

histogram::histogram(const std::string& name, const std::string& help,
                     const std::vector<double>& bounds, const std::vector<std::string>& label_names)
    : family_([&] {
        bool increasing = !bounds.empty();
        for (std::size_t i = 0; i < bounds.size(); ++i) {
          if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            increasing = false;
        }
        if (!increasing) {
          throw error(
              fmt::format("histogram '{}' was given the bucket bounds [{}]; give at "
                          "least one, finite and strictly increasing (+Inf is added)",
                          name, fmt::join(bounds, ", ")));
        }
        return detail::register_family("histogram", name, help, label_names, bounds);
      }()) {}

void histogram::observe(double value, const label_values& labels) {
  detail::series& s = family_->at(labels);
  const auto& bounds = family_->bounds();
  std::size_t bucket = 0;
  while (bucket < bounds.size() && value > bounds[bucket])
    ++bucket;
  s.bucket_counts[bucket].add(1);
  s.total.add(value);
}

std::uint64_t histogram::count(const label_values& labels) const {
  const detail::series* s = family_->find(labels);
  std::uint64_t n = 0;
  if (s)
    for (const auto& b : s->bucket_counts)
      n += b.sum();
  return n;
}

double histogram::sum(const label_values& labels) const {
  const detail::series* s = family_->find(labels);
  return s ? s->total.sum() : 0.0;
}

std::string prometheus_text() {
  return weft::detail::render_prometheus(weft::detail::application_metrics());
}

}  // namespace weft::metrics

namespace weft::detail {

metric_snapshot application_metrics() {
  auto& r = metrics::detail::the_registry();
  std::vector<std::shared_ptr<metrics::detail::family>> families;
  {
    std::lock_guard lock(r.mutex);
    for (const auto& [name, f] : r.families)
      families.push_back(f);
  }
  metric_snapshot out;
  for (const auto& f : families)
    out.push_back(f->snapshot());
  return out;
}

}  // namespace weft::detail
