// The Prometheus text format of metric snapshots (metric_snapshot.hpp).

#include "metric_snapshot.hpp"

#include <fmt/core.h>

#include <cmath>
#include <map>

namespace weft::detail {

namespace {

bool name_char(char c, bool first, bool colon) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quotes && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

void append_sample(std::string& out, const std::string& name, const metric_sample& s) {
  out += name;
  out += s.suffix;
  if (!s.labels.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [label, value] : s.labels) {
      if (!first) out += ',';
      first = false;
      out += label;
      out += "=\"";
      append_escaped(out, value, true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += prometheus_number(s.value);
  out += '\n';
}

}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

std::string prometheus_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string render_prometheus(const metric_snapshot& families) {
  // Prometheus wants a family's samples together: families of one name (several sources of the
  // same figure, such as nodes at the head) are gathered under the first one's header.
  std::map<std::string, std::vector<const metric_family*>> by_name;
  std::vector<std::string> order;
  for (const metric_family& f : families) {
    auto& group = by_name[f.name];
    if (group.empty()) order.push_back(f.name);
    group.push_back(&f);
  }
  std::string out;
  for (const std::string& name : order) {
    const auto& group = by_name[name];
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped(out, group.front()->help, false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += group.front()->type;
    out += '\n';
    for (const metric_family* f : group)
      for (const metric_sample& s : f->samples)
        append_sample(out, name, s);
  }
  return out;
}

void label_all(metric_snapshot& families, const std::string& name, const std::string& value) {
  for (metric_family& f : families)
    for (metric_sample& s : f.samples)
      s.labels.insert(s.labels.begin(), {name, value});
}

}  // namespace weft::detail
