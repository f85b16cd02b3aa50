// Field-by-field comparison of two configurations.

#include "config_difference.hpp"

#include <fmt/core.h>

#include <chrono>

namespace weft::detail {
namespace {

std::string text_of(const std::string& s) {
  return fmt::format("'{}'", s);
}
std::string text_of(const resource_map& m) {
  std::string out;
  for (const auto& [name, count] : m)
    out += fmt::format("{}{}={}", out.empty() ? "" : ",", name, count);
  return out.empty() ? "{}" : "{" + out + "}";
}
std::string text_of(const std::optional<std::uint64_t>& v) {
  return v ? std::to_string(*v) : "unset";
}
std::string text_of(std::chrono::milliseconds d) {
  return fmt::format("{} ms", d.count());
}
std::string text_of(node_role r) {
  return role_name(r);
}
std::string text_of(bool b) {
  return b ? "true" : "false";
}
template <class T>
std::string text_of(const T& v) {
  return std::to_string(v);
}

// Compares one field; records the first difference.
class comparison {
 public:
  template <class T>
  void field(const char* name, const T& existing, const T& wanted) {
    if (found_ || existing == wanted) return;
    found_ = fmt::format("{}: {} (the default runtime's) vs {} (asked for)", name,
                         text_of(existing), text_of(wanted));
  }
  // A field whose value is not shown (a secret, or an object without a printable form).
  template <class T>
  void hidden_field(const char* name, const T& existing, const T& wanted, const char* what) {
    if (found_ || existing == wanted) return;
    found_ = fmt::format("{}: {}", name, what);
  }
  std::optional<std::string> result() const { return found_; }

 private:
  std::optional<std::string> found_;
};

}  // namespace

std::optional<std::string> first_difference(const config& existing, const config& wanted) {
  comparison c;
  c.field("threads", existing.threads, wanted.threads);
  c.field("resources", existing.resources, wanted.resources);
  c.field("namespace_", existing.namespace_, wanted.namespace_);
  c.field("arena_bytes", existing.arena_bytes, wanted.arena_bytes);
  c.field("retained_bytes", existing.retained_bytes, wanted.retained_bytes);
  c.field("spill_dir", existing.spill_dir, wanted.spill_dir);
  c.hidden_field("spill_backend", existing.spill_backend, wanted.spill_backend,
                 "another spill store object");
  const cluster_settings& a = existing.cluster;
  const cluster_settings& b = wanted.cluster;
  c.field("cluster.address", a.address, b.address);
  c.field("cluster.role", a.role, b.role);
  c.field("cluster.listen", a.listen, b.listen);
  c.hidden_field("cluster.token", a.token, b.token, "another token (not shown)");
  c.field("cluster.no_token", a.no_token, b.no_token);
  c.field("cluster.tls_cert", a.tls_cert, b.tls_cert);
  c.field("cluster.tls_key", a.tls_key, b.tls_key);
  c.field("cluster.tls_ca", a.tls_ca, b.tls_ca);
  c.field("cluster.cluster_name", a.cluster_name, b.cluster_name);
  c.field("cluster.heartbeat_interval", a.heartbeat_interval, b.heartbeat_interval);
  c.field("cluster.heartbeat_timeout", a.heartbeat_timeout, b.heartbeat_timeout);
  c.field("cluster.connect_timeout", a.connect_timeout, b.connect_timeout);
  c.field("cluster.offload_threshold", a.offload_threshold, b.offload_threshold);
  c.field("cluster.max_frame_bytes", a.max_frame_bytes, b.max_frame_bytes);
  c.field("cluster.lineage_bytes", a.lineage_bytes, b.lineage_bytes);
  c.field("cluster.serve_on_start", a.serve_on_start, b.serve_on_start);
  return c.result();
}

}  // namespace weft::detail
