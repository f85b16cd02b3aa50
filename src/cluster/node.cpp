// A node's life: the io thread, joining the head, heartbeats, losing a connection, serving
// until stopped (the frames it receives: frames.cpp).

#include "node.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <fmt/core.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {
using detail::log;
using detail::log_level;
}  // namespace

node::node(detail::runtime_core& core, const cluster_settings& settings)
    : core_(core),
      settings_(settings.with_default_token()),
      work_(asio::make_work_guard(io_)),
      tick_timer_(io_) {
  settings_.validate();
  handle_->self = this;
  if (settings_.role == node_role::head) {
    start_head();
  }
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        log(log_level::error, "cluster io thread: {}; continuing", e.what());
      }
    }
  });
  if (settings_.role != node_role::head) {
    try {
      join_head();
    } catch (...) {
      stop();
      throw;
    }
  }
  asio::post(io_, [this] { tick(); });
}

node::~node() {
  stop();
}

std::string node::node_id() const {
  std::lock_guard lock(mutex_);
  return id_;
}

std::vector<node_status> node::nodes() const {
  std::vector<node_status> out = view_.nodes();
  const std::string self = node_id();
  for (node_status& n : out) {
    if (n.id != self) continue;
    n.available = core_.spare_resources();
    n.load = core_.live_tasks();
  }
  return out;
}

link_identity node::identity(std::string self_id) const {
  link_identity id;
  id.cluster_name = settings_.cluster_name;
  id.token = settings_.token;
  id.self_id = std::move(self_id);
  id.max_frame_bytes = settings_.max_frame_bytes;
  id.handshake_timeout = std::max(settings_.heartbeat_timeout, std::chrono::milliseconds(1000));
  id.tls = tls_;
  return id;
}

std::span<std::byte> node::placement(const wire::frame_header& header, std::size_t& skip) {
  return objects_.placement(header, skip);
}

std::shared_ptr<connection> node::open_link(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = peers_.find(id);
  return found != peers_.end() ? found->second : nullptr;
}

std::shared_ptr<connection> node::link_to_member(const std::string& id) {
  {
    // The usual case, without asking the view: the link is open already (a node the view
    // drops loses its link in the same step, on_closed, or right after, apply_view).
    std::lock_guard lock(mutex_);
    if (stopped_.load()) return nullptr;
    if (auto found = peers_.find(id); found != peers_.end()) return found->second;
  }
  const std::optional<std::string> address = view_.address_of(id);
  if (!address) return nullptr;
  std::lock_guard lock(mutex_);
  if (stopped_.load()) return nullptr;
  try {
    return peer_connection(id, *address);
  } catch (const std::exception& e) {
    log(log_level::warn, "cannot reach node {}: {}", id, e.what());
  }
  return nullptr;
}

std::shared_ptr<connection> node::shared(connection& c) {
  return c.shared_from_this();
}

void node::start_head() {
  const endpoint_text at = parse_endpoint(settings_.address, "WEFT_ADDRESS");
  start_listening(at.host, at.port);
  node_status me;
  me.id = "head";
  me.role = node_role::head;
  me.address = listen_address_;
  me.resources = core_.settings().resources;
  me.pid = static_cast<std::int64_t>(::getpid());
  {
    std::lock_guard lock(mutex_);
    id_ = me.id;
  }
  head_service_ = std::make_unique<head_service>(settings_, std::move(me));
}

void node::start_listening(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    throw config_error(
        fmt::format("cannot listen on '{}': not an IP address ({})", host, ec.message()));
  }
  tcp::endpoint at(address, port);
  acceptor_.emplace(io_);
  acceptor_->open(at.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(at, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    throw config_error(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  const auto bound = acceptor_->local_endpoint();
  {
    std::lock_guard lock(mutex_);
    listen_address_ = fmt::format("{}:{}", bound.address().to_string(), bound.port());
  }
  if (settings_.token.empty()) {
    log(log_level::info, "listening on {} without a token: only local processes can join",
        listen_address_);
  } else {
    log(log_level::info, "listening on {}", listen_address_);
  }
  accept_next();
}

void node::accept_next() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted)
        log(log_level::warn, "accepting a connection failed: {}", ec.message());
      if (!acceptor_ || !acceptor_->is_open()) return;
    } else {
      auto c = connection::accept(io_, std::move(socket), *this, identity(node_id()));
      accepted_.insert(c);
      admit_unproven(std::move(c));
    }
    if (acceptor_ && acceptor_->is_open()) accept_next();
  });
}

void node::admit_unproven(std::shared_ptr<connection> c) {
  std::erase_if(unproven_, [&](const std::weak_ptr<connection>& w) {
    std::shared_ptr<connection> u = w.lock();
    return !u || u->is_open() || accepted_.count(u) == 0;  // proven, or closed
  });
  if (unproven_.size() >= max_unproven_connections) {
    // The oldest has had the longest to prove itself: it makes room, so that a flood of
    // connections that never log in cannot lock real nodes out (they dial again).
    if (std::shared_ptr<connection> oldest = unproven_.front().lock()) {
      oldest->turn_away(fmt::format(
          "{} connections have not proven themselves yet: the oldest is closed to make room",
          max_unproven_connections));
    }
    unproven_.pop_front();
  }
  unproven_.push_back(std::move(c));
}

void node::join_head() {
  const endpoint_text head = parse_endpoint(settings_.address, "WEFT_ADDRESS");
  const auto deadline = clock::now() + settings_.connect_timeout;
  std::string last_error;
  for (int attempt = 0;; ++attempt) {
    auto joined = std::make_shared<std::promise<void>>();
    std::future<void> done = joined->get_future();
    asio::post(io_, [this, joined, head] {
      joined_ = joined;
      auto c = connection::dial(io_, *this, identity(""), head.host, head.port);
      std::shared_ptr<connection> previous;
      {
        std::lock_guard lock(mutex_);
        previous = std::exchange(head_, c);
      }
      if (previous) previous->close("a new attempt to join replaces this one");
    });
    try {
      const auto wait = std::max(deadline - clock::now(), clock::duration(std::chrono::seconds(2)));
      if (done.wait_for(wait) != std::future_status::ready) {
        throw error(fmt::format("no answer from the head at {} within {} ms", settings_.address,
                                settings_.connect_timeout.count()));
      }
      done.get();
      log(log_level::info, "joined the cluster at {} as {}", settings_.address, node_id());
      return;
    } catch (const auth_error&) {
      throw;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (clock::now() + std::chrono::milliseconds(200) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw error(fmt::format("cannot join the cluster at {} (WEFT_ADDRESS) within {} ms: {}",
                          settings_.address, settings_.connect_timeout.count(), last_error));
}

void node::send_join(connection& head) {
  node_status me;
  me.role = settings_.role == node_role::automatic ? node_role::driver : settings_.role;
  me.resources = core_.settings().resources;
  me.functions = detail::remote_function_names();
  me.actor_types = detail::actor_type_names();
  me.pid = static_cast<std::int64_t>(::getpid());
  {
    // Workers listen for tasks and pulls, drivers for pulls of the large arguments they send.
    // A node joining a head again keeps its id and the address it listens on.
    std::lock_guard lock(mutex_);
    if (head_absent_) me.id = id_;
  }
  if (!acceptor_) {
    if (settings_.listen.empty()) {
      start_listening(head.local_host(), 0);
    } else {
      endpoint_text own = parse_endpoint(settings_.listen, "WEFT_LISTEN");
      start_listening(own.host, own.port);
    }
  }
  {
    std::lock_guard lock(mutex_);
    me.address = listen_address_;
  }
  join_request_ = next_request_.fetch_add(1);
  head.send(wire::frame_type::request, join_request_,
            request_payload(request_kind::join, to_record(me)));
}

node::forgotten_link node::forget_link(const connection& c) {
  forgotten_link lost;
  std::lock_guard lock(mutex_);
  if (head_.get() == &c) {
    head_.reset();
    lost.head_link = true;
  }
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    if (it->second.get() == &c) {
      lost.peer = it->first;
      peers_.erase(it);
      // Most likely the node is gone: place nothing there until the head lists it again.
      view_.drop(lost.peer);
      break;
    }
  }
  return lost;
}

void node::on_closed(connection& c, const std::string& reason) {
  auto self = shared(c);
  accepted_.erase(self);
  // Counters are per node, over its whole life: keep what this connection carried.
  closed_sent_ += c.bytes_sent();
  closed_received_ += c.bytes_received();
  if (joined_) {
    bool is_head_link = false;
    {
      std::lock_guard lock(mutex_);
      is_head_link = head_.get() == &c;
    }
    if (is_head_link) {
      const bool refused = reason.find("token") != std::string::npos ||
                           reason.find("cluster '") != std::string::npos;
      joined_->set_exception(refused ? std::make_exception_ptr(auth_error(reason))
                                     : std::make_exception_ptr(error(reason)));
      joined_.reset();
    }
  }
  if (head_service_) head_service_->lost(c, reason, stopped_.load());
  objects_.drop_held_for(c);
  actors_.drop_holders_for(c);
  objects_.fail_pulls_where([&](const object_service::pull_job& j) { return j.via == &c; },
                            fmt::format("the connection to it closed ({})", reason));
  const forgotten_link lost = forget_link(c);
  if (!lost.peer.empty()) owner_lost(lost.peer);
  if (!lost.peer.empty()) {
    // Calls already sent there fail below; the actors it owned cannot be reached in order
    // any more (and it let go of this node's handles when the connection closed).
    actors_.proxies_lost(lost.peer,
                         fmt::format("the connection to node {} closed ({})", lost.peer, reason));
    // It can no longer tell us when it drops an object: forget the copies of its objects.
    objects_.drop_copies_where(
        [&](const std::string& owner, std::uint64_t, bool) { return owner == lost.peer; });
  }
  refs_.connection_closed(
      c, fmt::format("the connection to the node that sent it closed ({})", reason));
  if (lost.head_link && !stopped_.load()) head_link_closed(reason);
  if (lost.head_link) fail_asks(fmt::format("the connection to the head closed ({})", reason));
  lose_calls_where([&](const sent_call& p) { return p.via == &c; },
                   [&](const sent_call& p) {
                     return fmt::format("the connection to node {} closed ({})", p.node, reason);
                   });
}

void node::tick() {
  if (stopped_.load()) return;
  if (settings_.role == node_role::head) {
    heartbeat self;
    self.load = core_.live_tasks();
    self.available = core_.spare_resources();
    head_service_->tick(self);
  } else {
    const auto now = clock::now();
    if (last_tick_at_ != clock::time_point{} &&
        now - last_tick_at_ > settings_.heartbeat_timeout / 2) {
      log(log_level::info,
          "this node's io thread was not scheduled for {} ms (heartbeats are due every {} ms)",
          std::chrono::duration_cast<std::chrono::milliseconds>(now - last_tick_at_).count(),
          settings_.heartbeat_interval.count());
    }
    if (last_tick_at_ != clock::time_point{} && now - last_tick_at_ > settings_.heartbeat_timeout) {
      // This process did not run for longer than the timeout (stopped, or starved): the head
      // may have declared it dead meanwhile. A closed head link now means fenced.
      frozen_until_ = now + settings_.heartbeat_timeout;
    }
    last_tick_at_ = now;
    try_head_again();
    std::shared_ptr<connection> head;
    {
      std::lock_guard lock(mutex_);
      head = head_;
    }
    if (head && head->is_open() && !rejoining()) {
      heartbeat beat;
      beat.load = core_.live_tasks();
      beat.available = core_.spare_resources();
      beat.tasks_served = tasks_served_.load();
      beat.bytes_sent = closed_sent_ + head->bytes_sent();
      beat.bytes_received = closed_received_ + head->bytes_received();
      std::lock_guard lock(mutex_);
      for (const auto& [id, peer] : peers_) {
        beat.bytes_sent += peer->bytes_sent();
        beat.bytes_received += peer->bytes_received();
      }
      for (const auto& c : accepted_) {
        beat.bytes_sent += c->bytes_sent();
        beat.bytes_received += c->bytes_received();
      }
      head->send(wire::frame_type::heartbeat, 0, to_bytes(beat));
      heartbeats_sent_.fetch_add(1, std::memory_order_release);
    }
  }
  tick_timer_.expires_after(settings_.heartbeat_interval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

bool node::in_background(std::function<void()> job) noexcept {
  auto* fn = new (std::nothrow) std::function<void()>(std::move(job));
  if (fn == nullptr) return false;
  const bool started = core_.run_background(
      [](void* arg) {
        auto* f = static_cast<std::function<void()>*>(arg);
        (*f)();
        delete f;
      },
      fn);
  if (!started) delete fn;
  return started;
}

void node::request_stop(std::string reason, bool failure) {
  std::lock_guard lock(mutex_);
  if (serve_done_) return;
  serve_done_ = true;
  serve_failed_ = failure;
  stop_reason_ = std::move(reason);
  serve_cv_.notify_all();
}

void node::serve() {
  log(log_level::info, "{} {} serving the cluster", role_name(settings_.role), node_id());
  auto signals = std::make_shared<asio::signal_set>(io_, SIGTERM, SIGINT);
  signals->async_wait([this](const boost::system::error_code& ec, int signal) {
    if (!ec) request_stop(fmt::format("received signal {}", signal), false);
  });
  std::unique_lock lock(mutex_);
  serve_cv_.wait(lock, [this] { return serve_done_; });
  const bool failed = serve_failed_;
  const std::string reason = stop_reason_;
  lock.unlock();
  asio::post(io_, [signals] {
    boost::system::error_code ignored;
    signals->cancel(ignored);
  });
  if (failed) throw error(fmt::format("node {} stopped serving: {}", node_id(), reason));
  log(log_level::info, "{} stopped serving: {}", node_id(), reason);
}

void node::shut_connections(const std::string& reason) {
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }
  tick_timer_.cancel();
  std::vector<std::shared_ptr<connection>> all(accepted_.begin(), accepted_.end());
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, c] : peers_)
      all.push_back(c);
    if (head_) all.push_back(head_);
  }
  for (auto& c : all)
    c->close(reason);
}

void node::stop() noexcept {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(handle_->mutex);
    handle_->self = nullptr;
    // Stand-ins can no longer unregister themselves (they reach the node through the handle):
    // forget them all now, so nothing here points at one after it is deleted.
    actors_.forget_all_proxies();
    restarts_.forget_all();
  }
  request_stop("the runtime shut down", false);
  asio::post(io_, [this] { shut_connections("the node is shutting down"); });
  auto cancelled = [](const sent_call& p) {
    return std::make_exception_ptr(cancelled_error(
        fmt::format("task '{}' was cancelled: the runtime shut down while it ran on node {}",
                    p.task->remote()->name, p.node)));
  };
  fail_calls_where([](const sent_call&) { return true; }, cancelled);
  for (sent_call& call : restarts_.take_all_parked())
    fail_call(*call.task, cancelled(call));
  // Let the goodbyes go out, then end the io thread.
  asio::post(io_, [this] {
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
    timer->async_wait([this, timer](const boost::system::error_code&) {
      work_.reset();
      io_.stop();
    });
  });
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
      return;
    }
    thread_.join();
  }
  // The io thread is gone: whatever still waits for bytes will not get them.
  objects_.fail_pulls_where([](const object_service::pull_job&) { return true; },
                            "the runtime shut down");
  fail_asks("the runtime shut down");
  objects_.drop_copies_where([](const std::string&, std::uint64_t, bool) { return true; });
  refs_.fail_awaited_where([](const ref_exchange::pending_resolve&) { return true; },
                           "the runtime shut down");
  refs_.drop_all_exports();
}

}  // namespace weft::cluster
