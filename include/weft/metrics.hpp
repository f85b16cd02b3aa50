#pragma once
/// \file
/// weft::metrics: counters, gauges and histograms an application defines, exported in the
/// Prometheus text format beside weft's own metrics (what `ray.util.metrics` is to Ray).
///
/// A metric is registered once per process under its name; constructing another metric with
/// the same name, kind, help and label names gives a handle to the same metric, anything else
/// throws weft::error. Every operation is thread safe. Updates of one series from many threads
/// go to per-thread cells, so they do not contend.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace weft::metrics {

/// The values of a metric's labels, in the order of its label names.
using label_values = std::vector<std::string>;

namespace detail {
class family;
}

/// A value that only goes up, such as requests served (Prometheus type `counter`).
class counter {
 public:
  /// Registers (or finds) the counter `name` ([a-zA-Z_:][a-zA-Z0-9_:]*, by convention ending in
  /// `_total`) with its help text and label names; throws weft::error for a bad name or a
  /// clash with a metric of that name registered differently.
  counter(const std::string& name, const std::string& help,
          const std::vector<std::string>& label_names = {});
  /// Adds `amount` (not negative) to the series of `labels`; throws weft::error for a negative
  /// amount or a wrong number of label values.
  void inc(double amount = 1.0, const label_values& labels = {});
  /// The current value of the series of `labels` (0 if it was never updated).
  double value(const label_values& labels = {}) const;

 private:
  std::shared_ptr<detail::family> family_;
};

/// A value that goes up and down, such as a queue's length (Prometheus type `gauge`).
class gauge {
 public:
  /// Registers (or finds) the gauge `name`; throws as counter's constructor does.
  gauge(const std::string& name, const std::string& help,
        const std::vector<std::string>& label_names = {});
  /// Sets the series of `labels` to `value`.
  void set(double value, const label_values& labels = {});
  /// Adds `amount` (may be negative) to the series of `labels`.
  void add(double amount, const label_values& labels = {});
  /// The current value of the series of `labels` (0 if it was never updated).
  double value(const label_values& labels = {}) const;

 private:
  std::shared_ptr<detail::family> family_;
};

/// Observations counted into buckets, such as request latencies (Prometheus type
/// `histogram`: `_bucket{le=...}` cumulative counts, `_sum` and `_count`).
class histogram {
 public:
  /// Registers (or finds) the histogram `name` with the upper bounds of its buckets (finite,
  /// strictly increasing, at least one; `+Inf` is always added); throws weft::error otherwise.
  /// The label name `le` is reserved.
  histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
            const std::vector<std::string>& label_names = {});
  /// Counts `value` in the series of `labels`.
  void observe(double value, const label_values& labels = {});
  /// Observations counted in the series of `labels` so far.
  std::uint64_t count(const label_values& labels = {}) const;
  /// The sum of the observations of the series of `labels`.
  double sum(const label_values& labels = {}) const;

 private:
  std::shared_ptr<detail::family> family_;
};

/// Every metric the application registered, in the Prometheus text format (version 0.0.4).
/// `runtime::metrics_text()` adds weft's own metrics to these.
std::string prometheus_text();

}  // namespace weft::metrics
