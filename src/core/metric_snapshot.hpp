#pragma once
// Metrics as plain data (families of samples), and their Prometheus text format (0.0.4).
// Both the application's metrics (weft/metrics.hpp) and weft's own are read into this form, so a
// node's figures can be merged and labelled (by node, at the head) before they are rendered.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::detail {

/// Label names and values of one sample, in the order they are written.
using label_pairs = std::vector<std::pair<std::string, std::string>>;

/// One line of a family: `name + suffix{labels} value` (suffix: "", "_bucket", "_sum", ...).
struct metric_sample {
  std::string suffix;
  label_pairs labels;
  double value = 0;
};

/// A metric family: its name, type ("counter", "gauge" or "histogram"), help and samples.
struct metric_family {
  std::string name;
  std::string type;
  std::string help;
  std::vector<metric_sample> samples;
};

/// The families of one scrape.
using metric_snapshot = std::vector<metric_family>;

/// True when `name` may name a metric: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_name(std::string_view name) noexcept;

/// True when `name` may name a label: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__".
bool valid_label_name(std::string_view name) noexcept;

/// `value` as Prometheus writes numbers: shortest round-trip form, "+Inf", "-Inf", "NaN".
std::string prometheus_number(double value);

/// `families` in the Prometheus text format: per family one `# HELP` and one `# TYPE` line, then
/// its samples, label values escaped (\\, \" and \n). Families sharing a name are written as one
/// (their samples together, the first family's help and type).
std::string render_prometheus(const metric_snapshot& families);

/// Puts the label `name="value"` first on every sample of `families` (how the head labels each
/// node's figures).
void label_all(metric_snapshot& families, const std::string& name, const std::string& value);

}  // namespace weft::detail
