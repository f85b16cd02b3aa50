// Objects across processes, the puller's side (object_service.hpp): the local stand-in of an
// object another node owns, pulls in chunks (several in flight, each checked by its frame's
// CRC32C, large ones read straight into place), the copies kept per node, and failing pulls
// whose owner or connection is gone.

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

// A pull asks for chunks of 1 MiB, 32 at a time. Small enough that each side checksums a
// chunk while it is in cache (the owner just before the kernel copies it out, the puller
// just after it arrived): with 8 MiB chunks both passes went to memory, and a 1 GiB pull took
// 0.52 to 0.65 s instead of 0.39 to 0.43 s on the benchmark machine. 32 MiB in flight keep
// loopback busy.
constexpr int pull_window = 32;
constexpr std::uint64_t pull_chunk_max = 1u << 20;

// Pulls of this size or more are logged at info level.
constexpr std::uint64_t large_pull_bytes = std::uint64_t{64} << 20;

// A payload source over a buffer it owns.
class owned_source final : public detail::payload_source {
 public:
  explicit owned_source(std::shared_ptr<const wire::byte_buffer> bytes)
      : bytes_(std::move(bytes)) {}
  std::uint64_t size() const noexcept override { return bytes_->size(); }
  std::span<const std::byte> in_memory() const noexcept override { return *bytes_; }
  void read_all(std::span<std::byte> into) override {
    if (into.size() != bytes_->size())
      throw std::runtime_error("the decoder asked for a payload of the wrong size");
    if (!into.empty()) std::memcpy(into.data(), bytes_->data(), into.size());
  }

 private:
  std::shared_ptr<const wire::byte_buffer> bytes_;
};

// Logs a finished pull: at info level when large (a transfer someone may be waiting on),
// else at debug level.
void log_pulled(std::uint64_t object, const std::string& owner, std::uint64_t bytes,
                std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log(bytes >= large_pull_bytes ? log_level::info : log_level::debug,
      "pulled object {} of node {}: {:.1f} MiB in {:.3f} s ({:.0f} MB/s)", object, owner,
      static_cast<double>(bytes) / (1024.0 * 1024.0), seconds,
      seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0);
}

// The local stand-in of an object another node owns; releases it there when the last local
// ref goes. Holds the node through a shared handle that stop() clears, since refs may outlive
// their runtime.
class remote_handle final : public detail::remote_object {
 public:
  remote_handle(std::shared_ptr<node_handle> home, std::string owner, std::uint64_t id,
                std::uint64_t size, std::shared_ptr<const lineage_recipe> recipe,
                std::string why_not)
      : home_(std::move(home)),
        owner_(std::move(owner)),
        id_(id),
        size_(size),
        recipe_(std::move(recipe)),
        why_not_(std::move(why_not)) {}
  ~remote_handle() override {
    std::lock_guard lock(home_->mutex);
    if (home_->self) home_->self->objects().release_remote(owner_, id_);
  }

  std::unique_ptr<detail::payload_source> fetch() override {
    std::future<std::shared_ptr<const wire::byte_buffer>> done;
    {
      std::lock_guard lock(home_->mutex);
      if (!home_->self) {
        throw object_lost(fmt::format(
            "object {} of node {} cannot be pulled: the runtime that referenced it shut down", id_,
            owner_));
      }
      done = home_->self->objects().pull(owner_, id_, size_);
    }
    try {
      return std::make_unique<owned_source>(done.get());
    } catch (const object_lost& e) {
      return rebuild(e.what());
    }
  }
  const std::string& owner() const noexcept override { return owner_; }
  std::uint64_t id() const noexcept override { return id_; }
  std::uint64_t size() const noexcept override { return size_; }

 private:
  // The pull failed (`lost`): runs the task that made the result again here, from its lineage.
  std::unique_ptr<detail::payload_source> rebuild(const std::string& lost) {
    if (!recipe_) throw object_lost(fmt::format("{}; it cannot be rebuilt: {}", lost, why_not_));
    result_ref again;
    {
      std::lock_guard lock(home_->mutex);
      if (!home_->self)
        throw object_lost(fmt::format("{}; it cannot be rebuilt: the runtime shut down", lost));
      again = home_->self->rebuild(*recipe_);
    }
    std::shared_ptr<detail::wire_value> value;
    try {
      value = again.get();
    } catch (const std::exception& e) {
      throw object_lost(
          fmt::format("{}; rebuilding it here by running the task that made it again failed: {}",
                      lost, e.what()));
    }
    if (value->size() != size_) {
      throw object_lost(fmt::format(
          "{}; the task that made it, run again here, gave {} bytes instead of {}: it is not "
          "deterministic, so the result cannot be rebuilt",
          lost, value->size(), size_));
    }
    auto bytes = std::make_shared<wire::byte_buffer>(value->size());
    std::byte* at = bytes->data();
    for (std::span<const std::byte> piece : value->pieces()) {
      if (!piece.empty()) std::memcpy(at, piece.data(), piece.size());
      at += piece.size();
    }
    log(log_level::info, "object {} of node {} was lost ({}); rebuilt here from its lineage", id_,
        owner_, lost);
    return std::make_unique<owned_source>(std::move(bytes));
  }

  std::shared_ptr<node_handle> home_;
  std::string owner_;
  std::uint64_t id_;
  std::uint64_t size_;
  std::shared_ptr<const lineage_recipe> recipe_;
  std::string why_not_;
};

}  // namespace

std::shared_ptr<detail::remote_object> object_service::remote_result(
    const std::string& owner, std::uint64_t id, std::uint64_t size,
    std::shared_ptr<const lineage_recipe> recipe, std::string why_not) {
  return std::make_shared<remote_handle>(handle_, owner, id, size, std::move(recipe),
                                         std::move(why_not));
}

std::future<std::shared_ptr<const wire::byte_buffer>> object_service::pull(const std::string& owner,
                                                                           std::uint64_t id,
                                                                           std::uint64_t size) {
  auto promise = std::make_shared<std::promise<std::shared_ptr<const wire::byte_buffer>>>();
  auto future = promise->get_future();
  // A ref read here decodes the bytes into its own arena object: no second copy is kept.
  start_pull(detail::wire_reference{owner, id, size, 0}, false,
             [promise](std::exception_ptr e, std::shared_ptr<const wire::byte_buffer> bytes) {
               if (e)
                 promise->set_exception(std::move(e));
               else
                 promise->set_value(std::move(bytes));
             });
  return future;
}

std::shared_ptr<const wire::byte_buffer> object_service::kept_copy(const std::string& key) {
  // mutex_ held. A copy spilled to disk is dropped and pulled again rather than restored here,
  // on the io thread: the owner still has it, and the network is not slower than the disk.
  auto found = kept_.find(key);
  if (found == kept_.end()) return nullptr;
  auto value = found->second.value;
  detail::object_record* record = value->record();
  if (record != nullptr && !record->try_pin_resident()) {
    kept_.erase(found);
    return nullptr;
  }
  const wire::byte_buffer* bytes = &value->value();
  return std::shared_ptr<const wire::byte_buffer>(
      bytes, [value = std::move(value), record](const wire::byte_buffer*) {
        if (record != nullptr) record->unpin();
      });
}

std::shared_ptr<const wire::byte_buffer> object_service::keep_copy(
    const std::string& key, const detail::wire_reference& where,
    std::shared_ptr<wire::byte_buffer> bytes) {
  const std::size_t size = bytes->size();
  auto* state = new detail::plain_state<wire::byte_buffer>();
  detail::state_ptr<detail::state<wire::byte_buffer>> value(state);
  state->emplace_value(std::move(*bytes));
  state->track(&core_, size);  // counted in the budget; spilled like any object when over it
  state->commit_value();
  core_.objects().count_pull();
  detail::object_record* record = state->record();
  if (record != nullptr) record->pin();  // for the tasks waiting for it
  std::lock_guard lock(mutex_);
  kept_[key] =
      kept_object{value, where.owner, where.key != 0 ? where.key : where.id, where.key != 0};
  const wire::byte_buffer* raw = &value->value();
  return std::shared_ptr<const wire::byte_buffer>(
      raw, [value = std::move(value), record](const wire::byte_buffer*) {
        if (record != nullptr) record->unpin();
      });
}

void object_service::start_pull(const detail::wire_reference& where, bool keep, pull_done done) {
  // One pull per object at a time; with `keep`, the copy stays in the arena for later tasks.
  // Holds of one tracked object share its key: one copy serves them all.
  const std::string key = where.key != 0 ? fmt::format("{}/key/{}", where.owner, where.key)
                                         : fmt::format("{}/{}", where.owner, where.id);
  if (keep && where.owner == peers_.node_id()) keep = false;  // our own object: it is here already
  {
    std::unique_lock lock(mutex_);
    if (auto copy = kept_copy(key)) {
      lock.unlock();
      done(nullptr, std::move(copy));
      return;
    }
    auto joining = joining_.find(key);
    if (joining != joining_.end()) {
      joining->second.keep = joining->second.keep || keep;
      joining->second.done.push_back(std::move(done));
      return;
    }
    pull_waiters& waiters = joining_[key];
    waiters.keep = keep;
    waiters.done.push_back(std::move(done));
  }
  pull_uncached(where,
                [this, key, where](std::exception_ptr e, std::shared_ptr<wire::byte_buffer> bytes) {
                  pull_waiters waiting;
                  {
                    std::lock_guard lock(mutex_);
                    waiting = std::move(joining_[key]);
                    joining_.erase(key);
                  }
                  std::shared_ptr<const wire::byte_buffer> result = bytes;
                  if (bytes && waiting.keep) {
                    try {
                      result = keep_copy(key, where, std::move(bytes));
                    } catch (...) {
                      e = std::current_exception();
                      result = nullptr;
                    }
                  }
                  for (auto& d : waiting.done)
                    d(e, result);
                });
}

void object_service::drop_copies_where(
    const std::function<bool(const std::string& owner, std::uint64_t id, bool keyed)>& match) {
  std::vector<kept_object> dropped;  // released after the lock
  std::lock_guard lock(mutex_);
  for (auto it = kept_.begin(); it != kept_.end();) {
    if (match(it->second.owner, it->second.id, it->second.keyed)) {
      dropped.push_back(std::move(it->second));
      it = kept_.erase(it);
    } else {
      ++it;
    }
  }
}

void object_service::on_object_dropped(std::span<const std::byte> body) {
  const object_dropped notice = from_bytes<object_dropped>(body, "object_dropped notice");
  drop_copies_where([&](const std::string& o, std::uint64_t i, bool k) {
    return o == notice.owner && i == notice.object && k == notice.keyed;
  });
}

void object_service::pull_uncached(const detail::wire_reference& where, raw_pull_done done) {
  const std::string& owner = where.owner;
  const std::uint64_t id = where.id;
  const std::uint64_t size = where.size;
  auto job = std::make_shared<pull_job>();
  job->owner = owner;
  job->object = id;
  job->key = where.key;
  job->done = std::move(done);
  try {
    job->bytes = std::make_shared<wire::byte_buffer>(static_cast<std::size_t>(size));
  } catch (const std::bad_alloc&) {
    job->done(std::make_exception_ptr(object_lost(fmt::format(
                  "object {} of node {} ({} bytes) does not fit in memory here", id, owner, size))),
              nullptr);
    return;
  }
  if (owner == peers_.node_id()) {  // our own result: no network
    std::shared_ptr<detail::wire_value> value;
    {
      std::lock_guard lock(mutex_);
      auto found = held_.find(id);
      if (found != held_.end()) value = found->second.value;
    }
    if (!value || value->size() != size) {
      job->done(std::make_exception_ptr(object_lost(
                    fmt::format("object {} is no longer held on this node {}", id, owner))),
                nullptr);
      return;
    }
    std::size_t at = 0;
    for (auto piece : value->pieces()) {
      if (!piece.empty()) std::memcpy(job->bytes->data() + at, piece.data(), piece.size());
      at += piece.size();
    }
    job->done(nullptr, job->bytes);
    return;
  }
  asio::post(io_, [this, job] {
    std::shared_ptr<connection> via = peers_.link_to_member(job->owner);
    if (via) job->via = via.get();
    if (!job->via) {
      job->done(std::make_exception_ptr(object_lost(fmt::format(
                    "object {} is lost: its owner, node {}, is not in the cluster any more",
                    job->object, job->owner))),
                nullptr);
      return;
    }
    job->chunk = std::min<std::uint64_t>(pull_chunk_max, settings_.max_frame_bytes - 1024);
    if (job->bytes->empty()) {
      job->done(nullptr, job->bytes);
      return;
    }
    for (int i = 0; i < pull_window && job->next < job->bytes->size(); ++i)
      request_chunk(job, via);
  });
}

void object_service::request_chunk(const std::shared_ptr<pull_job>& job,
                                   const std::shared_ptr<connection>& via) {
  const std::uint64_t offset = job->next;
  const std::uint64_t length = std::min<std::uint64_t>(job->chunk, job->bytes->size() - offset);
  job->next += length;
  ++job->outstanding;
  const std::uint64_t request = request_ids_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    pulls_.emplace(request, pull_chunk{job, offset, length});
  }
  via->send(wire::frame_type::request, request,
            request_payload(request_kind::pull_object, object_pull{job->object, offset, length}));
}

std::span<std::byte> object_service::placement(const wire::frame_header& header,
                                               std::size_t& skip) {
  skip = 1;  // the response's status byte
  if (header.type != wire::frame_type::response) return {};
  std::lock_guard lock(mutex_);
  auto found = pulls_.find(header.request_id);
  if (found == pulls_.end() || header.payload_bytes != found->second.length + 1) return {};
  const pull_chunk& chunk = found->second;
  // The job's buffer outlives the read: the chunk stays registered until on_frame/on_closed.
  return std::span(chunk.job->bytes->data() + chunk.offset, chunk.length);
}

bool object_service::complete_pull(connection& c, std::uint64_t request,
                                   std::span<const std::byte> payload, bool placed) {
  pull_chunk chunk;
  {
    std::lock_guard lock(mutex_);
    auto found = pulls_.find(request);
    if (found == pulls_.end()) return false;
    chunk = std::move(found->second);
    pulls_.erase(found);
  }
  pull_job& job = *chunk.job;
  if (job.finished) return true;
  const auto status = static_cast<response_status>(payload[0]);
  std::span<const std::byte> body = payload.subspan(1);
  if (placed && status == response_status::ok) {
    body = std::span<const std::byte>(job.bytes->data() + chunk.offset, chunk.length);
  }
  if (status != response_status::ok || body.size() != chunk.length) {
    std::string why = fmt::format("node {} sent {} bytes for a chunk of {}", job.owner, body.size(),
                                  chunk.length);
    if (status == response_status::failed) why = from_bytes<failure>(body, "pull failure").message;
    job.finished = true;
    job.done(std::make_exception_ptr(object_lost(
                 fmt::format("object {} of node {} is lost: {}", job.object, job.owner, why))),
             nullptr);
    return true;
  }
  if (!placed && !body.empty())
    std::memcpy(job.bytes->data() + chunk.offset, body.data(), body.size());
  --job.outstanding;
  if (job.next < job.bytes->size()) {
    request_chunk(chunk.job, c.shared_from_this());
  } else if (job.outstanding == 0) {
    job.finished = true;
    log_pulled(job.object, job.owner, job.bytes->size(), job.started);
    job.done(nullptr, job.bytes);
  }
  return true;
}

void object_service::fail_pulls_where(const std::function<bool(const pull_job&)>& match,
                                      const std::string& why) {
  std::vector<std::shared_ptr<pull_job>> failed;
  {
    std::lock_guard lock(mutex_);
    for (auto it = pulls_.begin(); it != pulls_.end();) {
      if (match(*it->second.job)) {
        failed.push_back(it->second.job);
        it = pulls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& job : failed) {
    if (job->finished) continue;
    job->finished = true;
    job->done(std::make_exception_ptr(object_lost(
                  fmt::format("object {} of node {} is lost: {}", job->object, job->owner, why))),
              nullptr);
  }
}

}  // namespace weft::cluster
