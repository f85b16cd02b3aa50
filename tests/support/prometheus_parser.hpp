#pragma once
// A strict parser of the Prometheus text format (0.0.4) for tests: it throws on anything a
// scraper could reject or misread, so a test that parses an endpoint's answer proves the format,
// not only that some lines are present.
//
// Checked: names and label names; at most one HELP and one TYPE per family, TYPE before its
// samples; a family's samples together; label values' escapes; numbers; no sample twice; sample
// names matching the family's type; histograms' buckets increasing in `le`, cumulative, ending
// in le="+Inf" equal to `_count`, with `_sum`.

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace weft_test {

/// One sample line.
struct prom_sample {
  std::string name;  ///< With its suffix (`_bucket`, `_sum`, `_count` for histograms).
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// A family: type, help and samples in file order.
struct prom_family {
  std::string type = "untyped";
  std::string help;
  bool typed = false;
  bool helped = false;
  std::vector<prom_sample> samples;

  /// The value of the sample `name` whose labels include all of `labels`; throws if none or
  /// several match.
  double value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    const prom_sample* found = nullptr;
    for (const prom_sample& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (!match) continue;
      if (found) throw std::runtime_error("several samples of " + name + " match");
      found = &s;
    }
    if (!found) throw std::runtime_error("no sample of " + name + " matches");
    return found->value;
  }
};

/// Families by name.
using prom_families = std::map<std::string, prom_family>;

namespace detail {

inline bool prom_name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

inline double prom_number(const std::string& text, const std::string& where) {
  if (text == "+Inf" || text == "Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return std::nan("");
  if (text.empty()) throw std::runtime_error(where + ": empty number");
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || text.find_first_of("xXpP") != std::string::npos ||
      text.find("nan") != std::string::npos || text.find("inf") != std::string::npos)
    throw std::runtime_error(where + ": '" + text + "' is not a number");
  return v;
}

inline std::string prom_family_of(const prom_families& families, const std::string& sample) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
      const std::string base = sample.substr(0, sample.size() - s.size());
      auto it = families.find(base);
      if (it != families.end() && it->second.type == "histogram") return base;
    }
  }
  return sample;
}

inline void prom_check_histogram(const std::string& name, const prom_family& f) {
  // Group by labels without `le`.
  std::map<std::map<std::string, std::string>, std::vector<const prom_sample*>> series;
  for (const prom_sample& s : f.samples) {
    auto key = s.labels;
    key.erase("le");
    series[key].push_back(&s);
  }
  for (const auto& [key, samples] : series) {
    double last_le = -HUGE_VAL, last_count = 0;
    bool inf = false, has_sum = false, has_count = false;
    double inf_count = 0, count = 0;
    for (const prom_sample* s : samples) {
      if (s->name == name + "_bucket") {
        auto le = s->labels.find("le");
        if (le == s->labels.end()) throw std::runtime_error(name + "_bucket without le");
        const double bound = prom_number(le->second, name + " le");
        if (!(bound > last_le)) throw std::runtime_error(name + ": le not increasing");
        if (s->value < last_count) throw std::runtime_error(name + ": buckets not cumulative");
        last_le = bound;
        last_count = s->value;
        if (std::isinf(bound)) {
          inf = true;
          inf_count = s->value;
        }
      } else if (s->name == name + "_sum") {
        has_sum = true;
      } else if (s->name == name + "_count") {
        has_count = true;
        count = s->value;
      } else {
        throw std::runtime_error(s->name + " is not a sample name of histogram " + name);
      }
    }
    if (!inf || !has_sum || !has_count)
      throw std::runtime_error(name + ": a series lacks le=\"+Inf\", _sum or _count");
    if (inf_count != count) throw std::runtime_error(name + ": le=\"+Inf\" differs from _count");
  }
}

}  // namespace detail

/// Parses `text`; throws std::runtime_error naming the line for anything not strictly valid.
inline prom_families parse_prometheus(const std::string& text) {
  prom_families families;
  std::set<std::string> closed;  // families whose samples ended
  std::string current;
  std::set<std::pair<std::string, std::map<std::string, std::string>>> seen;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  if (!text.empty() && text.back() != '\n')
    throw std::runtime_error("the text does not end in a newline");
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    const std::string where = "line " + std::to_string(line_no) + " '" + line + "'";
    if (line.empty()) continue;
    auto read_name = [&](std::size_t& i, bool colon) {
      const std::size_t start = i;
      while (i < line.size() && detail::prom_name_char(line[i], i == start, colon))
        ++i;
      if (i == start) throw std::runtime_error(where + ": expected a name");
      return line.substr(start, i - start);
    };
    auto enter = [&](const std::string& family) {
      if (family != current) {
        if (closed.count(family)) throw std::runtime_error(where + ": family " + family + " split");
        if (!current.empty()) closed.insert(current);
        current = family;
      }
    };
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const bool help = line[2] == 'H';
        std::size_t i = 7;
        const std::string name = read_name(i, true);
        if (i < line.size() && line[i] != ' ') throw std::runtime_error(where + ": bad name");
        const std::string rest = i < line.size() ? line.substr(i + 1) : "";
        enter(name);
        prom_family& f = families[name];
        if (help) {
          if (f.helped) throw std::runtime_error(where + ": second HELP");
          f.helped = true;
          for (std::size_t k = 0; k < rest.size(); ++k) {
            if (rest[k] != '\\') continue;
            if (k + 1 >= rest.size() || (rest[k + 1] != '\\' && rest[k + 1] != 'n'))
              throw std::runtime_error(where + ": bad escape in HELP");
            ++k;
          }
          f.help = rest;
        } else {
          if (f.typed) throw std::runtime_error(where + ": second TYPE");
          if (!f.samples.empty()) throw std::runtime_error(where + ": TYPE after samples");
          if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" &&
              rest != "untyped")
            throw std::runtime_error(where + ": unknown type");
          f.typed = true;
          f.type = rest;
        }
      }
      continue;
    }
    std::size_t i = 0;
    prom_sample s;
    s.name = read_name(i, true);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        const std::string label = read_name(i, false);
        if (label.rfind("__", 0) == 0) throw std::runtime_error(where + ": reserved label name");
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
          throw std::runtime_error(where + ": expected =\"");
        i += 2;
        std::string value;
        while (true) {
          if (i >= line.size()) throw std::runtime_error(where + ": unterminated label value");
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) throw std::runtime_error(where + ": bad escape");
            const char e = line[i++];
            if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else if (e == 'n')
              value += '\n';
            else
              throw std::runtime_error(where + ": bad escape");
          } else {
            value += c;
          }
        }
        if (!s.labels.emplace(label, value).second)
          throw std::runtime_error(where + ": label " + label + " twice");
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i >= line.size() || line[i] != '}')
          throw std::runtime_error(where + ": expected , or }");
      }
    }
    if (i >= line.size() || line[i] != ' ') throw std::runtime_error(where + ": expected a space");
    ++i;
    const std::size_t space = line.find(' ', i);
    s.value = detail::prom_number(line.substr(i, space - i), where);
    if (space != std::string::npos) {
      const std::string stamp = line.substr(space + 1);
      if (stamp.empty() || stamp.find_first_not_of("-0123456789") != std::string::npos)
        throw std::runtime_error(where + ": bad timestamp");
    }
    const std::string family = detail::prom_family_of(families, s.name);
    enter(family);
    prom_family& f = families[family];
    if ((f.type == "counter" || f.type == "gauge") && s.name != family)
      throw std::runtime_error(where + ": sample name differs from its family");
    if (f.type == "counter" && !(s.value >= 0))
      throw std::runtime_error(where + ": negative counter");
    if (!seen.emplace(s.name, s.labels).second) throw std::runtime_error(where + ": sample twice");
    f.samples.push_back(std::move(s));
  }
  for (const auto& [name, f] : families)
    if (f.type == "histogram") detail::prom_check_histogram(name, f);
  return families;
}

}  // namespace weft_test
