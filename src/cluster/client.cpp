// Talking to a head from outside the cluster: status and stop (what `weft status` and
// `weft stop` use). One connection, one request, one answer, on a private io_context.

#include <fmt/core.h>

#include <optional>

#include "connection.hpp"
#include "protocol.hpp"
#include "tls_context.hpp"
#include "weft/cluster.hpp"
#include "weft/errors.hpp"

namespace weft {
namespace {

using cluster::connection;

// Sends one request once the handshake is done and keeps the answer.
class one_request final : public cluster::connection_events {
 public:
  explicit one_request(cluster::request_kind kind) : kind_(kind) {}

  void on_open(connection& c) override {
    c.send(wire::frame_type::request, 1, std::string(1, static_cast<char>(kind_)));
  }
  void on_frame(connection& c, wire::frame&& f) override {
    if (f.header.type == wire::frame_type::response && f.header.request_id == 1) {
      answer_ = std::move(f.payload);
      c.close("done");
    }
  }
  void on_closed(connection&, const std::string& reason) override { closed_reason_ = reason; }

  std::optional<wire::byte_buffer> answer_;
  std::string closed_reason_;

 private:
  cluster::request_kind kind_;
};

wire::byte_buffer ask_head(const cluster_settings& given, cluster::request_kind kind,
                           std::chrono::milliseconds timeout) {
  const cluster_settings settings = given.with_default_token();
  const endpoint_text head = parse_endpoint(settings.address, "the head's address");
  cluster::asio::io_context io;
  one_request events(kind);
  cluster::link_identity identity;
  identity.cluster_name = settings.cluster_name;
  identity.token = settings.token;
  identity.max_frame_bytes = settings.max_frame_bytes;
  identity.handshake_timeout = timeout;
  identity.tls = cluster::make_tls_context(settings);
  auto c = connection::dial(io, events, identity, head.host, head.port);
  io.run_for(timeout);
  if (!events.answer_) {
    const std::string why = events.closed_reason_.empty()
                                ? fmt::format("no answer within {} ms", timeout.count())
                                : events.closed_reason_;
    if (why.find("token") != std::string::npos || why.find("cluster '") != std::string::npos)
      throw auth_error(fmt::format("the head at {} refused us: {}", settings.address, why));
    throw error(fmt::format("cannot reach the head at {}: {}", settings.address, why));
  }
  wire::byte_buffer answer = std::move(*events.answer_);
  if (answer.empty() || answer[0] != std::byte(cluster::response_status::ok)) {
    throw error(fmt::format("the head at {} refused the request", settings.address));
  }
  answer.erase(answer.begin());
  return answer;
}

}  // namespace

cluster_status query_cluster(const cluster_settings& settings, std::chrono::milliseconds timeout) {
  wire::byte_buffer answer = ask_head(settings, cluster::request_kind::status, timeout);
  return wire::from_record(wire::from_bytes<wire::cluster_view>(answer, "cluster status"));
}

void stop_cluster(const cluster_settings& settings, std::chrono::milliseconds timeout) {
  ask_head(settings, cluster::request_kind::stop_cluster, timeout);
}

std::string format_status(const cluster_status& status) {
  std::string out =
      fmt::format("cluster '{}': {} node(s)\n", status.cluster_name, status.nodes.size());
  out += fmt::format("{:<12} {:<7} {:<22} {:>7} {:>6} {:>8} {:>12} {:>12} {:>9}  {}\n", "id",
                     "role", "address", "pid", "load", "served", "sent", "received", "uptime",
                     "resources / functions");
  for (const node_status& n : status.nodes) {
    std::string resources;
    for (const auto& [name, amount] : n.resources)
      resources += fmt::format("{}{}={}", resources.empty() ? "" : ",", name, amount);
    std::string functions;
    for (const auto& f : n.functions)
      functions += fmt::format("{}{}", functions.empty() ? "" : ",", f);
    for (const auto& a : n.actor_types)
      functions += fmt::format("{}actor:{}", functions.empty() ? "" : ",", a);
    out += fmt::format("{:<12} {:<7} {:<22} {:>7} {:>6} {:>8} {:>12} {:>12} {:>8.1f}s  [{}] {}\n",
                       n.id, role_name(n.role), n.address.empty() ? "-" : n.address, n.pid, n.load,
                       n.tasks_served, n.bytes_sent, n.bytes_received, n.uptime_seconds, resources,
                       functions.empty() ? "-" : functions);
  }
  if (!status.actors.empty()) {
    out += fmt::format("{} named actor(s)\n{:<20} {:<12} {:<20} {:<12} {}\n", status.actors.size(),
                       "name", "namespace", "type", "node", "id");
    for (const actor_status& a : status.actors)
      out += fmt::format("{:<20} {:<12} {:<20} {:<12} {}\n", a.name, a.name_space, a.type, a.node,
                         a.id);
  }
  return out;
}

}  // namespace weft
