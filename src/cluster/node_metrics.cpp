// The node's figures for the metrics endpoint (task_router::collect_metrics): bytes per link,
// heartbeats, tasks served for others, refused connections.

#include "connection.hpp"
#include "node.hpp"

namespace weft::cluster {

std::string node::listen_host() const {
  std::lock_guard lock(mutex_);
  return listen_address_.substr(0, listen_address_.rfind(':'));
}

void node::collect_metrics(detail::metric_snapshot& out) const {
  detail::metric_family sent{"weft_link_bytes_sent_total",
                             "counter",
                             "Bytes written to the link to each peer (from 0 when it reconnects).",
                             {}};
  detail::metric_family received{
      "weft_link_bytes_received_total",
      "counter",
      "Bytes read from the link to each peer (from 0 when it reconnects).",
      {}};
  {
    std::lock_guard lock(mutex_);
    auto add_link = [&](const std::string& peer, const connection& c) {
      sent.samples.push_back({"", {{"peer", peer}}, static_cast<double>(c.bytes_sent())});
      received.samples.push_back({"", {{"peer", peer}}, static_cast<double>(c.bytes_received())});
    };
    bool head_listed = false;
    for (const auto& [id, c] : peers_) {
      add_link(id, *c);
      head_listed = head_listed || c == head_;
    }
    if (head_ && !head_listed)
      add_link(head_->peer_id().empty() ? "head" : head_->peer_id(), *head_);
  }
  out.push_back(std::move(sent));
  out.push_back(std::move(received));
  out.push_back(
      {"weft_heartbeats_sent_total",
       "counter",
       "Heartbeats this node sent the head.",
       {{"", {}, static_cast<double>(heartbeats_sent_.load(std::memory_order_relaxed))}}});
  out.push_back({"weft_tasks_served_total",
                 "counter",
                 "Tasks this node ran for other nodes.",
                 {{"", {}, static_cast<double>(tasks_served_.load(std::memory_order_relaxed))}}});
  const connection::refusal_counts r = connection::refusals();
  out.push_back({"weft_connections_refused_total",
                 "counter",
                 "Connections refused in their handshake (every node of this process), by cause.",
                 {{"", {{"cause", "token"}}, static_cast<double>(r.token)},
                  {"", {{"cause", "tls"}}, static_cast<double>(r.tls)},
                  {"", {{"cause", "protocol"}}, static_cast<double>(r.protocol)}}});
}

}  // namespace weft::cluster
