#pragma once
/// \file
/// An arena object whose value lives on another node of the cluster (its owner): the local
/// state is complete but holds no value until a reader pins it, which pulls the bytes from the
/// owner in chunks (object_arena::restore). Passing such a ref to a task on a third node sends
/// only this reference: that node pulls from the owner itself. When the last local reference
/// goes, the owner is told it may drop its copy.

#include <cstdint>
#include <memory>
#include <string>

namespace weft::detail {

class payload_source;

/// Told, by being destroyed, that an arena object offered to other nodes is gone (its record
/// owns it); implemented by the cluster layer, which then tells the nodes that pulled it.
class object_watch {
 public:
  virtual ~object_watch() = default;
};

/// Where an object lives when it is not here; implemented by the cluster layer.
class remote_object {
 public:
  virtual ~remote_object() = default;
  /// Pulls the whole value from its owner, blocking until it is here; throws object_lost if
  /// the owner is gone or refuses. The returned source yields exactly size() bytes.
  virtual std::unique_ptr<payload_source> fetch() = 0;
  /// The owner's node id.
  virtual const std::string& owner() const noexcept = 0;
  /// The object's id on its owner.
  virtual std::uint64_t id() const noexcept = 0;
  /// Its encoded size in bytes.
  virtual std::uint64_t size() const noexcept = 0;
};

}  // namespace weft::detail
