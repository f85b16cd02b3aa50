#pragma once
/// \file
/// The exception types weft throws. Every one derives from weft::error.

#include <stdexcept>
#include <string>

namespace weft {

/// Base of every exception weft itself throws; catch this to handle any weft failure.
class error : public std::runtime_error {
 public:
  /// Creates an error whose what() is `message`.
  explicit error(const std::string& message) : std::runtime_error(message) {}
};

/// A wait with a deadline (`ref::get_for`) ran out of time before the value was ready.
class timeout_error : public error {
 public:
  using error::error;
};

/// The task was cancelled (`runtime::cancel`, or runtime shutdown) before it started, or it
/// depended on a task that was.
class cancelled_error : public error {
 public:
  using error::error;
};

/// A call to an actor that is dead: killed (`runtime::kill`), out of restarts, failed to
/// construct, destroyed after its last handle went, or stopped by runtime shutdown. The message
/// names the actor and why it died.
class actor_died : public error {
 public:
  using error::error;
};

/// An arena object cannot be read back: its spill file (or other spill storage) is missing,
/// truncated or corrupted. The message names the object, where it was stored and why it failed.
/// Only that object is affected; reading it again throws the same error.
class object_lost : public error {
 public:
  using error::error;
};

/// In a cluster: a task's result is lost because every node it was sent to died (or the
/// connection to it was lost) before answering, as many times as `task_options::node_retries`
/// allowed. The message names the nodes, why each was lost and how many times the task was
/// sent. A node_died is an object_lost: the result it stands for cannot be read.
class node_died : public object_lost {
 public:
  using object_lost::object_lost;
};

/// Bytes received from another weft process break the wire protocol (wrong version, unknown
/// frame type, oversized length, bad checksum); the message says which. The connection they
/// came on is closed.
class protocol_error : public error {
 public:
  using error::error;
};

/// A peer failed the cluster handshake: wrong token, wrong cluster name, or it did not prove
/// it knows the token in time. The connection is refused.
class auth_error : public error {
 public:
  using error::error;
};

/// A task ran on another node of the cluster and threw. Keeps the original exception's type
/// name and message and the node it ran on; what() says all three. (In-process, a task's own
/// exception is rethrown as it is; across processes only its type name and message survive.)
class task_error : public error {
 public:
  /// An error for a task that threw `type_name` with `message` on node `node`; `task` names
  /// the task (its function) for what().
  task_error(std::string task, std::string type_name, std::string message, std::string node);
  /// The demangled type name of the exception the task threw, e.g. "std::invalid_argument".
  const std::string& type_name() const noexcept { return type_name_; }
  /// The exception's what() on the node that ran the task.
  const std::string& message() const noexcept { return message_; }
  /// The id of the node the task ran on.
  const std::string& node() const noexcept { return node_; }
  /// The task's function name.
  const std::string& task() const noexcept { return task_; }

 private:
  std::string task_;
  std::string type_name_;
  std::string message_;
  std::string node_;
};

/// A configuration value (a `config` field or a `WEFT_*` environment variable) is malformed or
/// out of range; the message names the setting and the offending value.
class config_error : public error {
 public:
  using error::error;
};

}  // namespace weft
