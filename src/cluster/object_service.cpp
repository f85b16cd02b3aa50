// Objects across processes (object_service.hpp): a worker keeps the large results of the
// tasks it ran (the owner), callers get a reference, and whoever reads the value pulls it from
// the owner (object_pulls.cpp). This file is the owner's side: holds, watched objects, serving
// pulls, releases. The owner drops a result when the caller releases its last ref to it, or
// when the caller's connection goes.

#include "object_service.hpp"

#include <boost/asio/post.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstring>
#include <future>

#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "node.hpp"  // node_handle
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;
}  // namespace

object_service::object_service(detail::runtime_core& core, const cluster_settings& settings,
                               boost::asio::io_context& io, object_peers& peers,
                               std::shared_ptr<node_handle> handle,
                               std::atomic<std::uint64_t>& request_ids)
    : core_(core),
      settings_(settings),
      io_(io),
      peers_(peers),
      handle_(std::move(handle)),
      request_ids_(request_ids) {}

object_service::~object_service() = default;

std::uint64_t object_service::hold(std::shared_ptr<detail::wire_value> value,
                                   const connection* for_link, std::uint64_t key) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_object_++;
  held_.emplace(id, held_object{std::move(value), for_link, {}, key});
  return id;
}

namespace {

// Lives as long as a tracked object that was offered to other nodes (its record owns it):
// when the object is gone, the nodes that pulled it are told to drop their copies.
class object_watcher final : public detail::object_watch {
 public:
  object_watcher(std::shared_ptr<node_handle> home, std::uint64_t key)
      : home_(std::move(home)), key_(key) {}
  ~object_watcher() override {
    std::lock_guard lock(home_->mutex);
    if (home_->self) home_->self->objects().object_gone(key_);
  }

 private:
  std::shared_ptr<node_handle> home_;
  std::uint64_t key_;
};

}  // namespace

std::uint64_t object_service::watch_object(detail::object_record& record) {
  std::lock_guard lock(record.mutex_);
  if (!record.watch_) record.watch_ = std::make_unique<object_watcher>(handle_, record.id_);
  return record.id_;
}

void object_service::object_gone(std::uint64_t key) noexcept {
  std::vector<std::weak_ptr<connection>> pullers;
  {
    std::lock_guard lock(mutex_);
    auto found = object_pullers_.find(key);
    if (found == object_pullers_.end()) return;
    pullers = std::move(found->second);
    object_pullers_.erase(found);
  }
  try {
    held_object gone;
    gone.pullers = std::move(pullers);
    gone.key = key;
    tell_pullers(key, gone);
  } catch (const std::exception& e) {
    log(log_level::debug, "cannot tell the pullers of object key {} that it is gone: {}", key,
        e.what());
  }
}

void object_service::release_remote(const std::string& owner, std::uint64_t id) {
  std::shared_ptr<connection> via = peers_.open_link(owner);
  if (!via) return;  // the owner is gone, and its copy with it
  try {
    via->send(wire::frame_type::request, 0,
              request_payload(request_kind::release_object, object_release{id}));
  } catch (const std::exception& e) {
    log(log_level::warn, "cannot release object {} on node {}: {}", id, owner, e.what());
  }
}

void object_service::release_holds(const std::vector<std::uint64_t>& holds) {
  if (holds.empty()) return;
  std::vector<std::pair<std::uint64_t, held_object>> dropped;  // destroyed after the lock
  {
    std::lock_guard lock(mutex_);
    for (std::uint64_t h : holds) {
      auto found = held_.find(h);
      if (found == held_.end()) continue;
      dropped.emplace_back(h, std::move(found->second));
      held_.erase(found);
    }
  }
  for (const auto& [id, held] : dropped)
    tell_pullers(id, held);
}

void object_service::on_release(std::span<const std::byte> body) {
  const std::uint64_t id = from_bytes<object_release>(body, "object release").object;
  held_object dropped;
  {
    std::lock_guard lock(mutex_);
    auto found = held_.find(id);
    if (found == held_.end()) return;
    dropped = std::move(found->second);
    held_.erase(found);
  }
  tell_pullers(id, dropped);
}

void object_service::drop_held_for(const connection& c) {
  std::vector<std::pair<std::uint64_t, held_object>> dropped;
  {
    std::lock_guard lock(mutex_);
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second.for_link == &c) {
        dropped.emplace_back(it->first, std::move(it->second));
        it = held_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& [id, held] : dropped)
    tell_pullers(id, held);
}

void object_service::serve_pull(connection& c, std::uint64_t request,
                                std::span<const std::byte> body) {
  const object_pull pull = from_bytes<object_pull>(body, "object pull");
  const std::uint64_t id = pull.object;
  const std::uint64_t offset = pull.offset;
  const std::uint64_t length = pull.length;
  std::shared_ptr<detail::wire_value> value;
  {
    std::lock_guard lock(mutex_);
    auto found = held_.find(id);
    if (found != held_.end()) {
      value = found->second.value;
      if (offset == 0) {  // the first chunk: remember who may keep a copy, to tell them
        const std::uint64_t key = found->second.key;
        auto& pullers = key != 0 ? object_pullers_[key] : found->second.pullers;
        std::erase_if(pullers, [](const std::weak_ptr<connection>& w) { return w.expired(); });
        pullers.push_back(c.weak_from_this());
      }
    }
  }
  if (!value) {
    failure f{"weft::object_lost",
              fmt::format("node {} holds no object {} (released, or never existed)",
                          peers_.node_id(), id),
              peers_.node_id()};
    std::string prefix(1, static_cast<char>(response_status::failed));
    prefix += to_bytes(f);
    c.send(wire::frame_type::response, request, std::move(prefix));
    return;
  }
  if (offset > value->size() || length > value->size() - offset) {
    throw protocol_error(fmt::format("a pull of bytes {}..{} of object {} ({} bytes)", offset,
                                     offset + length, id, value->size()));
  }
  auto slice = std::make_shared<detail::wire_value>();
  slice->keep_alive(value);
  std::uint64_t at = 0;
  for (auto piece : value->pieces()) {
    const std::uint64_t begin = std::max(at, offset);
    const std::uint64_t end = std::min(at + piece.size(), offset + length);
    if (begin < end) slice->append_borrowed(piece.subspan(begin - at, end - begin));
    at += piece.size();
  }
  c.send(wire::frame_type::response, request,
         std::string(1, static_cast<char>(response_status::ok)), std::move(slice));
}

void object_service::tell_pullers(std::uint64_t id, const held_object& held) {
  if (held.pullers.empty()) return;
  const std::string self = peers_.node_id();
  // keyed: the id is an object key
  const std::string notice =
      request_payload(request_kind::object_dropped, object_dropped{self, id, held.key != 0});
  for (const auto& weak : held.pullers) {
    if (auto c = weak.lock()) {
      try {
        c->send(wire::frame_type::request, 0, notice);
      } catch (const std::exception& e) {
        log(log_level::debug, "cannot tell {} that object {} is gone: {}", c->describe(), id,
            e.what());
      }
    }
  }
}

}  // namespace weft::cluster
