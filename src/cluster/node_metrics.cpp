// The node's figures for the metrics endpoint (task_router::collect_metrics): bytes per link,
// heartbeats, tasks served for others, refused connections.

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>

#include "connection.hpp"
#include "node.hpp"

namespace weft::cluster {

std::string node::listen_host() const {
  std::lock_guard lock(mutex_);
  return listen_address_.substr(0, listen_address_.rfind(':'));
}

void node::collect_metrics(detail::metric_snapshot& out) const {
  // The links are the io thread's (accepted_ has no lock): read them there, waiting a little;
  // a node whose io thread is gone or stuck reports no link figures rather than hang a scrape.
  struct link_bytes {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
  };
  struct link_table {
    std::map<std::string, link_bytes> by_peer;
    link_bytes total;
    std::size_t members = 0;          // on a head
    std::uint64_t declared_dead = 0;  // on a head
  };
  auto read_links = std::make_shared<std::packaged_task<link_table()>>([this] {
    std::map<std::string, link_bytes> by_peer;
    link_bytes total{closed_sent_, closed_received_};
    std::set<const connection*> counted;
    auto add = [&](const std::shared_ptr<connection>& c) {
      if (!c || !counted.insert(c.get()).second) return;
      total.sent += c->bytes_sent();
      total.received += c->bytes_received();
      // A member's link to the head carries the id the head gave it; clients have none.
      std::string peer = c->peer_id();
      if (peer.empty() && head_service_) peer = head_service_->member_on(*c);
      if (peer.empty()) return;
      link_bytes& b = by_peer[peer];
      b.sent += c->bytes_sent();
      b.received += c->bytes_received();
    };
    for (const auto& c : accepted_)
      add(c);
    std::lock_guard lock(mutex_);
    for (const auto& [id, c] : peers_)
      add(c);
    add(head_);
    link_table table{std::move(by_peer), total};
    if (head_service_) {
      table.members = head_service_->member_count();
      table.declared_dead = head_service_->declared_dead();
    }
    return table;
  });
  auto links = read_links->get_future();
  asio::post(work_.get_executor(), [read_links] { (*read_links)(); });
  if (links.wait_for(std::chrono::seconds(2)) == std::future_status::ready) {
    const link_table table = links.get();
    const auto& by_peer = table.by_peer;
    const auto& total = table.total;
    detail::metric_family sent{
        "weft_link_bytes_sent_total",
        "counter",
        "Bytes written to each peer's links (from 0 again when a link is replaced).",
        {}};
    detail::metric_family received{
        "weft_link_bytes_received_total",
        "counter",
        "Bytes read from each peer's links (from 0 again when a link is replaced).",
        {}};
    for (const auto& [peer, b] : by_peer) {
      sent.samples.push_back({"", {{"peer", peer}}, static_cast<double>(b.sent)});
      received.samples.push_back({"", {{"peer", peer}}, static_cast<double>(b.received)});
    }
    out.push_back(std::move(sent));
    out.push_back(std::move(received));
    out.push_back({"weft_bytes_sent_total",
                   "counter",
                   "Bytes this node wrote to all its connections, closed ones included.",
                   {{"", {}, static_cast<double>(total.sent)}}});
    out.push_back({"weft_bytes_received_total",
                   "counter",
                   "Bytes this node read from all its connections, closed ones included.",
                   {{"", {}, static_cast<double>(total.received)}}});
    if (head_service_) {
      out.push_back({"weft_cluster_nodes",
                     "gauge",
                     "Members of the cluster, the head included.",
                     {{"", {}, static_cast<double>(table.members)}}});
      out.push_back({"weft_nodes_declared_dead_total",
                     "counter",
                     "Nodes this head declared dead for missing their heartbeats.",
                     {{"", {}, static_cast<double>(table.declared_dead)}}});
    }
  }
  out.push_back(
      {"weft_heartbeats_sent_total",
       "counter",
       "Heartbeats this node sent the head.",
       {{"", {}, static_cast<double>(heartbeats_sent_.load(std::memory_order_relaxed))}}});
  out.push_back({"weft_tasks_served_total",
                 "counter",
                 "Tasks this node ran for other nodes.",
                 {{"", {}, static_cast<double>(tasks_served_.load(std::memory_order_relaxed))}}});
  out.push_back(
      {"weft_actors_restarted_total",
       "counter",
       "Actors this node spawned that it re-created on another node after theirs died.",
       {{"", {}, static_cast<double>(actors_restarted_.load(std::memory_order_relaxed))}}});
  const connection::refusal_counts r = connection::refusals();
  out.push_back({"weft_connections_refused_total",
                 "counter",
                 "Connections refused in their handshake (every node of this process), by cause.",
                 {{"", {{"cause", "token"}}, static_cast<double>(r.token)},
                  {"", {{"cause", "tls"}}, static_cast<double>(r.tls)},
                  {"", {{"cause", "protocol"}}, static_cast<double>(r.protocol)}}});
}

}  // namespace weft::cluster
