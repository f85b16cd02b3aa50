// An actor's mailbox, its drain task, restarts, death and end. See weft/detail/actor_base.hpp
// for the scheduling protocol.
//
// Who touches what: producers only push onto incoming_ and signal; the one drain at a time
// owns queue_head_/queue_tail_, restarts_, holds_resources_ and the instance (with
// max_concurrency > 1, concurrent calls use the instance while running_ > 0; the drain only
// replaces or destroys it when running_ is 0).

#include <fmt/core.h>

#include <exception>
#include <string>

#include "live_actors.hpp"
#include "log.hpp"
#include "runtime_core.hpp"
#include "weft/actor_pool.hpp"
#include "weft/detail/actor_base.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {

thread_local actor_base* current = nullptr;

// Calls run by one drain before it yields the worker to other work.
constexpr int batch_size = 64;

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return fmt::format("{}: {}", type_name(typeid(x)), x.what());
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

}  // namespace

[[gnu::noinline]] actor_base* current_actor() noexcept {
  return current;
}
[[gnu::noinline]] void set_current_actor(actor_base* actor) noexcept {
  current = actor;
}

actor_base::actor_base(runtime_core* core, actor_options options, const std::type_info& type,
                       bool proxy)
    : core_(core), options_(std::move(options)), type_(type), proxy_(proxy) {
  if (options_.namespace_.empty()) options_.namespace_ = core_->settings().namespace_;
  if (options_.max_concurrency < 1) {
    throw error(fmt::format("{}: actor_options::max_concurrency = {} must be at least 1",
                            describe(), options_.max_concurrency));
  }
  if (options_.max_restarts < 0) {
    throw error(fmt::format("{}: actor_options::max_restarts = {} is negative; use 0 for none",
                            describe(), options_.max_restarts));
  }
  if (options_.max_task_retries < -1) {
    throw error(fmt::format(
        "{}: actor_options::max_task_retries = {} is out of range; use 0 for none, -1 for no limit",
        describe(), options_.max_task_retries));
  }
  core_->validate_resources(options_.resources, describe());
  retain_core(core_);
}

actor_base::~actor_base() {
  release_core(core_);
}

std::string actor_base::describe() const {
  if (options_.name.empty()) return fmt::format("unnamed actor ({})", type_name(type_));
  return fmt::format("actor '{}' ({})", options_.name, type_name(type_));
}

actor_base* actor_base::enroll(bool get_existing) {
  if (actor_base* existing = core_->actors().add(*this, get_existing)) return existing;
  registered_.store(true, std::memory_order_release);
  log(log_level::debug, "{} spawned", describe());
  signal();
  return nullptr;
}

void actor_base::abandon() noexcept {
  die("it was not started", log_level::debug);
  signal();
}

void actor_base::drop_handle() noexcept {
  if (handles_.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
      options_.lifetime == lifetime::owned) {
    forget_name();
    signal();
  }
}

bool actor_base::try_add_handle() noexcept {
  if (dead_.load(std::memory_order_acquire)) return false;
  if (options_.lifetime == lifetime::detached) {
    handles_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  std::int64_t n = handles_.load(std::memory_order_relaxed);
  do {
    if (n == 0) return false;
  } while (!handles_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
  return true;
}

void actor_base::post(task_base& call) noexcept {
  load_.fetch_add(1, std::memory_order_relaxed);
  if (constructor_call_ == nullptr) constructor_call_ = &call;  // before the actor is shared
  task_base* head = incoming_.load(std::memory_order_relaxed);
  do {
    call.set_next_parked(head);
  } while (!incoming_.compare_exchange_weak(head, &call, std::memory_order_release,
                                            std::memory_order_relaxed));
}

task_base* actor_base::peek() noexcept {
  if (queue_head_ == nullptr) {
    // Take everything pushed so far (newest first) and append it in arrival order.
    task_base* list = incoming_.exchange(nullptr, std::memory_order_acquire);
    task_base* ordered = nullptr;
    task_base* last = list;
    while (list != nullptr) {
      task_base* next = list->next_parked();
      list->set_next_parked(ordered);
      ordered = list;
      list = next;
    }
    queue_head_ = ordered;
    queue_tail_ = last;
  }
  return queue_head_;
}

task_base* actor_base::pop() noexcept {
  task_base* head = peek();
  if (head != nullptr) {
    queue_head_ = head->next_parked();
    if (queue_head_ == nullptr) queue_tail_ = nullptr;
    head->set_next_parked(nullptr);
  }
  return head;
}

void actor_base::signal() noexcept {
  if (events_.fetch_add(1, std::memory_order_acq_rel) != 0) return;  // a drain is on it
  retain();                                                          // the drain's reference
  if (!core_->begin_work()) {
    release();  // the runtime is gone: nothing is left to run
    return;
  }
  core_->schedule_drain(*this, false);
}

void actor_base::drain() noexcept {
  set_current_actor(this);
  for (;;) {
    std::uint32_t seen = events_.load(std::memory_order_acquire);
    if (!drain_batch()) {
      set_current_actor(nullptr);
      core_->schedule_drain(*this, true);  // yield: others run before the rest of the batch
      return;
    }
    if (events_.compare_exchange_strong(seen, 0, std::memory_order_acq_rel)) break;
  }
  set_current_actor(nullptr);
  core_->end_work();
  release();
}

bool actor_base::drain_batch() noexcept {
  int budget = batch_size;
  for (;;) {
    if (dead_.load(std::memory_order_acquire)) {
      fail_queued();
      if (running_.load(std::memory_order_acquire) == 0 && !ended_.load(std::memory_order_relaxed))
        end();
      return true;
    }
    if (restart_pending_.load(std::memory_order_acquire)) {
      if (running_.load(std::memory_order_acquire) != 0) return true;
      restart();
      continue;
    }
    if (!registered_.load(std::memory_order_acquire)) return true;  // enroll() signals
    task_base* call = peek();
    if (call == nullptr) {
      // Handles are read before looking again: a call made through the last handle was
      // queued before that handle went, so it is seen here.
      if (options_.lifetime == lifetime::owned && handles_.load(std::memory_order_acquire) == 0 &&
          peek() == nullptr && running_.load(std::memory_order_acquire) == 0) {
        die("its last handle was dropped", log_level::debug);
        continue;
      }
      return true;
    }
    if (!call->handoff_reached()) {
      if (!call->is_cancelled()) return true;  // not ready
      pop();
      let_go(*call);  // cancelled while waiting for a dependency: skip it
      continue;
    }
    if (call == constructor_call_) {
      pop();
      run_constructor(*call);
      continue;
    }
    if (options_.max_concurrency > 1) {
      if (running_.load(std::memory_order_acquire) >= options_.max_concurrency) return true;
      pop();
      running_.fetch_add(1, std::memory_order_acq_rel);
      core_->spawn_call(*call);
      continue;
    }
    if (budget-- == 0) return false;
    pop();
    deliver(*call);
  }
}

void actor_base::deliver(task_base& call) noexcept {
  call.run();  // false when it was cancelled: it is finished all the same
  finish_call(call);
}

void actor_base::call_done(task_base& call) noexcept {
  retain();  // finish_call drops the call's reference
  running_.fetch_sub(1, std::memory_order_acq_rel);
  // Signal while the call still counts as live work: shutdown cannot finish in between, so
  // the drain that ends a killed actor is always scheduled.
  signal();
  finish_call(call);
  release();
}

void actor_base::note_failure(const std::exception_ptr& e) noexcept {
  if (!options_.restart_on) return;
  bool wanted = false;
  try {
    wanted = options_.restart_on(e);
  } catch (...) {
    log(log_level::warn, "{}: restart_on threw; not restarting", describe());
  }
  if (!wanted) return;
  {
    std::lock_guard lock(death_mutex_);
    last_failure_ = what_of(e);
  }
  restart_pending_.store(true, std::memory_order_release);
}

void actor_base::start() {
  for (;;) {
    try {
      construct();
      return;
    } catch (...) {
      std::exception_ptr e = std::current_exception();
      bool retry = restarts_ < options_.max_restarts;
      if (retry && options_.restart_on) {
        try {
          retry = options_.restart_on(e);
        } catch (...) {
          retry = false;
        }
      }
      if (!retry) throw;
      ++restarts_;
      count_restart();
      log(log_level::info, "{}: constructor threw ({}); retrying ({} of {} restarts used)",
          describe(), what_of(e), restarts_, options_.max_restarts);
    }
  }
}

void actor_base::run_constructor(task_base& call) noexcept {
  holds_resources_ = call.holds_resources();  // the actor keeps them for its whole life
  call.set_holds_resources(false);
  call.run();
  state_base& result = call.result_state();
  if (result.failed()) {
    die(fmt::format("it could not be constructed: {}", what_of(result.error())), log_level::warn);
  }
  finish_call(call);
}

void actor_base::restart() noexcept {
  restart_pending_.store(false, std::memory_order_relaxed);
  std::string failure;
  {
    std::lock_guard lock(death_mutex_);
    failure = last_failure_;
  }
  if (restarts_ >= options_.max_restarts) {
    die(fmt::format("a method threw {} and its max_restarts ({}) are used up", failure,
                    options_.max_restarts),
        log_level::warn);
    return;
  }
  ++restarts_;
  count_restart();
  destroy();
  log(log_level::info, "{}: restarting after {} ({} of {} restarts used)", describe(), failure,
      restarts_, options_.max_restarts);
  try {
    start();
  } catch (...) {
    die(fmt::format("its constructor threw on restart: {}", what_of(std::current_exception())),
        log_level::warn);
  }
}

void actor_base::kill(const std::string& why, bool expected) {
  die(why, expected ? log_level::debug : log_level::info);
  signal();
}

std::exception_ptr actor_base::final_error() const {
  // seq_cst, like the store in die() and mark_exported(): of die() and a concurrent export,
  // at least one sees the other, so a death is never left unreported.
  if (!dead_.load(std::memory_order_seq_cst)) return {};
  std::lock_guard lock(death_mutex_);
  return death_;
}

void actor_base::end_with(const std::string& message) {
  die(message, log_level::info, true);
  signal();
}

void actor_base::die(std::string why, log_level level, bool verbatim) noexcept {
  {
    std::lock_guard lock(death_mutex_);
    if (dead_.load(std::memory_order_relaxed)) return;
    try {
      death_ = std::make_exception_ptr(
          actor_died(verbatim ? why : fmt::format("{} died: {}", describe(), why)));
    } catch (...) {
      death_ = std::current_exception();
    }
    dead_.store(true, std::memory_order_seq_cst);
  }
  forget_name();
  if (exported_.load(std::memory_order_seq_cst) && core_->router())
    core_->router()->actor_died(*this);
  if (verbatim)
    log(level, "{}", why);
  else
    log(level, "{} ended: {}", describe(), why);
}

void actor_base::fail_queued() noexcept {
  std::exception_ptr why = final_error();
  while (task_base* call = pop()) {
    call->cancel_with(why);
    let_go(*call);
  }
}

void actor_base::let_go(task_base& call) noexcept {
  // Its dependencies may still be unresolved; whoever is second (here or message_ready)
  // finishes it.
  if (call.reach_handoff()) finish_call(call);
}

void actor_base::message_ready(task_base& call, bool caller_holds_actor) noexcept {
  // Once handed off, the call (and its reference to us) may be finished by the drain at once.
  if (!caller_holds_actor) retain();
  if (call.reach_handoff())
    finish_call(call);
  else
    signal();
  if (!caller_holds_actor) release();
}

void actor_base::finish_call(task_base& call) noexcept {
  if (call.holds_resources()) {
    core_->release_resources(call.resources());
    call.set_holds_resources(false);
  }
  load_.fetch_sub(1, std::memory_order_relaxed);
  core_->finish(call);  // may free the call, which drops its reference to this actor
}

void actor_base::end() noexcept {
  ended_.store(true, std::memory_order_release);
  destroy();
  if (holds_resources_) {
    core_->release_resources(options_.resources);
    holds_resources_ = false;
  }
  core_->actors().remove(*this);
}

void actor_base::forget_name() noexcept {
  if (!options_.name.empty()) core_->actors().forget_name(*this);
}

actor_base* find_actor(runtime_core* core, const std::string& name, const std::string* ns,
                       const std::type_info& type) {
  const std::string& space = ns ? *ns : core->settings().namespace_;
  if (actor_base* here = core->actors().try_find(name, space, type)) return here;
  if (core->router() != nullptr) {
    if (actor_base* there = core->router()->find_actor(name, space, type)) return there;
  }
  throw no_actor_named(name, space);
}

void throw_call_resources(const actor_base& actor) {
  throw error(fmt::format(
      "call to {}: task_options::resources cannot be given per call; an actor holds its "
      "resources for its whole life (actor_options::resources)",
      actor.describe()));
}

void throw_unregistered_method(const actor_base& actor) {
  throw error(fmt::format(
      "{} lives on another node of the cluster: only the methods listed in its WEFT_ACTOR "
      "registration can be called on it (pass a member pointer such as &Type::method; add the "
      "method to WEFT_ACTOR)",
      actor.describe()));
}

void throw_empty_actor(const char* operation) {
  throw error(fmt::format(
      "{} on an empty weft::actor handle (default-constructed or moved-from); assign it the "
      "result of runtime::spawn or get_actor first",
      operation));
}

void actor_call_threw(actor_base* actor, const std::exception_ptr& e) noexcept {
  actor->note_failure(e);
}

void retain_actor(actor_base* actor) noexcept {
  actor->retain();
}
void release_actor(actor_base* actor) noexcept {
  actor->release();
}

void throw_empty_pool() {
  throw error("actor_pool: the size must be at least 1");
}

void throw_bad_self(const std::type_info& wanted) {
  actor_base* here = current_actor();
  if (here == nullptr) {
    throw error(fmt::format("weft::self<{}>() called outside an actor's call", type_name(wanted)));
  }
  throw error(fmt::format("weft::self<{}>() called inside {}; use self<{}>()", type_name(wanted),
                          here->describe(), type_name(here->type())));
}

}  // namespace weft::detail
