#pragma once
/// \file
/// The shared state behind every `ref<T>`: an intrusively counted block holding a status, the
/// value or the error, and a lock-free list of continuations fired once on completion.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "weft/arena.hpp"
#include "weft/detail/codec.hpp"
#include "weft/detail/object_record.hpp"

namespace weft::detail {

class runtime_core;

/// A node in a state's waiter list; `on_ready` runs exactly once, when the state completes.
/// The node must stay alive until then; the state reads `next_` before calling `on_ready`, so
/// `on_ready` may free the node.
struct continuation {
  continuation* next_ = nullptr;
  virtual void on_ready() noexcept = 0;

 protected:
  ~continuation() = default;
};

/// Type-independent part of a result: reference count, status, error, waiters.
class state_base {
 public:
  state_base(const state_base&) = delete;
  state_base& operator=(const state_base&) = delete;

  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// True once a value or an error is published.
  bool ready() const noexcept {
    return (status_.load(std::memory_order_acquire) & outcome_mask) != pending;
  }
  /// True when the state completed with an error (only meaningful once ready()).
  bool failed() const noexcept {
    return (status_.load(std::memory_order_acquire) & outcome_mask) == errored;
  }
  /// The error of a failed state.
  const std::exception_ptr& error() const noexcept { return error_; }

  /// Links `c` into the waiter list. Returns false when the state is already complete, in which
  /// case `c` is not linked and the caller handles readiness itself.
  bool subscribe(continuation* c) const noexcept;

  /// Blocks until ready. Inside a weft task it suspends the task (the worker runs other work)
  /// instead of blocking the thread.
  void wait() const;
  /// Like wait() with a deadline; returns false when it ran out. `d` must not be negative.
  bool wait_for(std::chrono::nanoseconds d) const;

  /// Runs the computation behind this state on the calling thread if it is a task of `core`
  /// that is ready to start and nobody started yet; true if it ran.
  virtual bool try_run_inline(runtime_core* core) noexcept {
    (void)core;
    return false;
  }
  /// Cancels the computation behind this state if it has not started; true if it did.
  virtual bool try_cancel() noexcept { return false; }
  /// True when the caller holds the only reference (nobody else can read the value).
  bool unique() const noexcept { return refs_.load(std::memory_order_acquire) == 1; }
  /// The runtime that produced this state (runs its continuations), or nullptr.
  virtual runtime_core* home() const noexcept { return nullptr; }
  /// The actor whose call produces this state, or nullptr (to detect an actor awaiting itself).
  virtual const void* mailbox_of() const noexcept { return nullptr; }
  /// True while the value is being computed for this node by another node of a cluster (or
  /// may be: a task of a registered function), so it will arrive here over the network.
  virtual bool arrives_from_another_node() const noexcept { return false; }

 protected:
  state_base() = default;
  virtual ~state_base() = default;

  /// Marks the stored value as published and fires the waiters. The caller holds a reference.
  void publish_value() noexcept { publish(has_value); }
  /// Stores `e` and fires the waiters. The caller holds a reference.
  void publish_error(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    publish(errored);
  }

 private:
  static constexpr int pending = 0;
  static constexpr int has_value = 1;
  static constexpr int errored = 2;
  static constexpr int outcome_mask = 3;
  // Set by a thread that blocks on status_, so publish() only wakes (a futex syscall in
  // libstdc++, whose waiter buckets are shared by unrelated addresses) when someone sleeps.
  static constexpr int sleeper = 4;

  void publish(int status) noexcept;

  std::atomic<std::uint32_t> refs_{1};
  mutable std::atomic<int> status_{pending};
  mutable std::atomic<continuation*> waiters_{nullptr};
  std::exception_ptr error_;
};

/// Owning intrusive pointer to a state (adopts the initial reference on construction).
template <class S>
class state_ptr {
 public:
  state_ptr() = default;
  /// Takes ownership of one reference already counted for `p`.
  explicit state_ptr(S* p) noexcept : p_(p) {}
  state_ptr(const state_ptr& o) noexcept : p_(o.p_) {
    if (p_) p_->retain();
  }
  state_ptr(state_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  state_ptr& operator=(state_ptr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~state_ptr() {
    if (p_) p_->release();
  }
  /// Adds a reference to `p` and wraps it.
  static state_ptr share(S* p) noexcept {
    if (p) p->retain();
    return state_ptr(p);
  }
  S* get() const noexcept { return p_; }
  S* operator->() const noexcept { return p_; }
  S& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// Gives up ownership without releasing.
  S* detach() noexcept { return std::exchange(p_, nullptr); }

 private:
  S* p_ = nullptr;
};

/// A state that can carry a `T`. The value lives in the state itself, or in another state this
/// one forwards to (a task that returned a `ref<T>`): readers always go through `value()`.
/// A value the arena tracks (record() not null) may be spilled while nobody pins it: read it
/// only between pin_read() and unpin_read(), or after pin_for_good().
template <class T>
class state : public state_base {
 public:
  ~state() override {
    if (record_) forget_object(record_);
  }

  /// The published value; only valid when ready() && !failed() and, for a tracked value,
  /// while pinned.
  const T& value() const noexcept { return alias_ ? alias_->value() : *storage_; }
  /// The state whose storage holds the value (this one, or the one it forwards to).
  const state* holder() const noexcept { return alias_ ? alias_->holder() : this; }
  /// The arena's record of the value, or nullptr when the arena does not track it.
  object_record* record() const noexcept { return holder()->record_; }

  /// Keeps a tracked value in memory (restoring it if spilled) until unpin_read(); throws
  /// weft::object_lost if it cannot be restored. Does nothing for untracked values.
  void pin_read() const {
    if (object_record* r = record()) r->pin();
  }
  /// Ends a pin_read().
  void unpin_read() const noexcept {
    if (object_record* r = record()) r->unpin();
  }
  /// Keeps a tracked value in memory for the rest of its life (what ref::get() promises).
  void pin_for_good() const {
    if (object_record* r = record()) r->pin_for_good();
  }

  /// The value by value: moved out when the caller holds the only reference to a value stored
  /// here, copied otherwise.
  T take_or_copy() {
    pin_read();
    struct unpin_at_exit {
      const state* s;
      ~unpin_at_exit() { s->unpin_read(); }
    } guard{this};
    if (this->unique() && !alias_ && storage_) return std::move(*storage_);
    return value();
  }

  /// Constructs the value in place (publish it with commit_value).
  template <class... A>
  void emplace_value(A&&... a) {
    storage_.emplace(std::forward<A>(a)...);
  }
  /// Publishes the value constructed by emplace_value (split so a throwing constructor can be
  /// reported as the task's error before anything is published).
  void commit_value() noexcept { publish_value(); }
  /// Fails the state.
  void fail(std::exception_ptr e) noexcept { publish_error(std::move(e)); }
  /// Completes this state with whatever `inner` completes with, sharing its value (no copy).
  void forward_to(state_ptr<state<T>> inner) noexcept;
  /// Publishes `inner`'s value (already complete, not failed) as this state's own, keeping
  /// `inner` alive as long as this state.
  void adopt(state_ptr<state<T>> inner) noexcept {
    alias_ = std::move(inner);
    publish_value();
  }

  /// Makes the value placed by emplace_value an arena object of `core` (before commit_value).
  void track(runtime_core* core, std::size_t bytes) {
    record_ = track_object(core, *this, ops_table, bytes);
  }
  /// Makes this state (no value placed) an arena object whose value `remote` pulls from the
  /// node that owns it, on first read (before commit_value).
  void track_remote(runtime_core* core, std::shared_ptr<remote_object> remote) {
    record_ = track_remote_object(core, *this, ops_table, std::move(remote));
  }
  /// Tracks a task result placed by emplace_value if it is large enough to be worth it.
  void track_if_large(runtime_core* core) {
    if constexpr (!std::is_trivially_copyable_v<T> || sizeof(T) >= tracked_result_min_bytes) {
      std::size_t bytes = size_of(*storage_);
      if (bytes >= tracked_result_min_bytes) track(core, bytes);
    } else {
      (void)core;
    }
  }

 private:
  static void encode_value(const state_base& s, encoded_value& out) {
    if constexpr (!contains_handles_v<T>) encode(*static_cast<const state&>(s).storage_, out);
  }
  static void restore_value(state_base& s, payload_source& source) {
    if constexpr (is_direct_v<T>)
      static_cast<state&>(s).storage_.emplace(decode<T>(source));
    else if constexpr (!contains_handles_v<T>)
      registered_codec<T>().decode(source, &static_cast<state&>(s).storage_);
  }
  static void drop_value(state_base& s) noexcept { static_cast<state&>(s).storage_.reset(); }
  static const char* type_name() noexcept { return typeid(T).name(); }
  static constexpr object_ops ops_table{&type_name, &spillable_now<T>, &encode_value,
                                        &restore_value, &drop_value};

  std::optional<T> storage_;
  state_ptr<state<T>> alias_;
  object_record* record_ = nullptr;
};

/// The void specialisation: completion and error only.
template <>
class state<void> : public state_base {
 public:
  void commit_value() noexcept { publish_value(); }
  void fail(std::exception_ptr e) noexcept { publish_error(std::move(e)); }
  void forward_to(state_ptr<state<void>> inner) noexcept;
};

/// A state created complete (a value known up front) or completed by hand by weft's own code.
template <class T>
class plain_state final : public state<T> {};

/// Continuation that completes `outer` from `inner` once `inner` is ready; deletes itself.
template <class T>
struct forward_link final : continuation {
  forward_link(state<T>* outer, state_ptr<state<T>> inner) noexcept
      : outer_(outer), inner_(std::move(inner)) {}
  void on_ready() noexcept override;
  state<T>* outer_;  // holds one reference
  state_ptr<state<T>> inner_;
};

template <class T>
void complete_from(state<T>& outer, state_ptr<state<T>> inner) noexcept;

template <class T>
void state<T>::forward_to(state_ptr<state<T>> inner) noexcept {
  retain();  // released by the link (or below) after completion
  auto* raw = inner.get();
  auto* link = new forward_link<T>(this, std::move(inner));
  if (!raw->subscribe(link)) link->on_ready();
}

inline void state<void>::forward_to(state_ptr<state<void>> inner) noexcept {
  retain();
  auto* raw = inner.get();
  auto* link = new forward_link<void>(this, std::move(inner));
  if (!raw->subscribe(link)) link->on_ready();
}

template <class T>
void forward_link<T>::on_ready() noexcept {
  complete_from(*outer_, std::move(inner_));
  outer_->release();
  delete this;
}

template <class T>
void complete_from(state<T>& outer, state_ptr<state<T>> inner) noexcept {
  if (inner->failed()) {
    outer.fail(inner->error());
    return;
  }
  if constexpr (std::is_void_v<T>) {
    outer.commit_value();
  } else {
    outer.adopt(std::move(inner));
  }
}

}  // namespace weft::detail
