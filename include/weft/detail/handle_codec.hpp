#pragma once
/// \file
/// How a weft::ref or weft::actor inside a value (a `std::vector<ref<int>>`, a struct holding
/// actor handles) is encoded for another node: cereal calls the save/load functions below,
/// which write the handle's index in the argument list's handle table (wire_value::handles).
/// The sending node's cluster layer turns each handle into an entry (the ref's value, a
/// reference to pull, a token to ask for it once ready, or the actor's identity); the
/// receiving node resolves them before the values are decoded, and load() builds a ready ref
/// or a handle to the actor (a local stand-in when it lives elsewhere). Refs and actor handles
/// are references, never copied into spill files: values holding them are not spillable.

#include <cstdint>
#include <typeinfo>

#include "weft/actor.hpp"
#include "weft/detail/cereal_codec.hpp"
#include "weft/detail/wire_value.hpp"
#include "weft/ref.hpp"

namespace weft::detail {

/// Throws weft::error: a ref or actor handle (`what`) was encoded or decoded outside an
/// argument list of the cluster (e.g. written to a spill file by a custom serialize()).
[[noreturn]] void throw_handle_outside_arguments(const char* what);

/// Builds the ref handle `index` of the values being decoded names: a ready ref holding its
/// decoded value, or failed with its error.
template <class T>
ref<T> decode_ref_handle(std::uint32_t index) {
  handle_source* source = current_handle_source();
  if (source == nullptr) throw_handle_outside_arguments("a weft::ref");
  handle_source::resolved_ref resolved = source->ref_at(index);
  auto* s = new plain_state<T>();
  state_ptr<state<T>> owner(s);
  if (resolved.error) {
    s->fail(resolved.error);
  } else if constexpr (std::is_void_v<T>) {
    s->commit_value();
  } else {
    s->emplace_value(decode_bytes<T>(resolved.bytes));
    s->track_if_large(current_core());
    s->commit_value();
  }
  return ref_access::make(std::move(owner));
}

}  // namespace weft::detail

namespace weft {

/// cereal: a ref inside a value sent to another node is written as its handle index.
template <class Archive, class T>
void save(Archive& archive, const ref<T>& r) {
  static_assert(std::is_void_v<T> || (detail::wire_type_v<T> && detail::encodable_v<T>),
                "weft: a ref inside a value sent to another node needs a value type that can "
                "travel (trivially copyable, a vector/string of such, or cereal-serializable)");
  detail::register_codec<T>();  // the ref's value is encoded on its own, through T's slot
  detail::wire_value* sink = detail::current_handle_sink();
  if (sink == nullptr) detail::throw_handle_outside_arguments("a weft::ref");
  if (!r.valid()) detail::throw_empty_ref("sending a ref inside a value to another node");
  const std::uint32_t index =
      sink->add_ref_handle(*detail::ref_access::state_of(r), &detail::append_ref_value<T>);
  archive(index);
}

/// cereal: a ref inside a value that arrived from another node, resolved before decoding.
template <class Archive, class T>
void load(Archive& archive, ref<T>& r) {
  std::uint32_t index = 0;
  archive(index);
  detail::register_codec<T>();
  r = detail::decode_ref_handle<T>(index);
}

/// cereal: an actor handle inside a value sent to another node is written as its handle index.
template <class Archive, class T>
void save(Archive& archive, const actor<T>& a) {
  detail::wire_value* sink = detail::current_handle_sink();
  if (sink == nullptr) detail::throw_handle_outside_arguments("a weft::actor");
  if (!a.valid()) detail::throw_empty_actor("sending an actor handle inside a value");
  archive(sink->add_actor_handle(*detail::actor_access::cell_of(a)));
}

/// cereal: an actor handle inside a value that arrived from another node: the same actor
/// (reached through a local stand-in when it lives elsewhere).
template <class Archive, class T>
void load(Archive& archive, actor<T>& a) {
  std::uint32_t index = 0;
  archive(index);
  detail::handle_source* source = detail::current_handle_source();
  if (source == nullptr) detail::throw_handle_outside_arguments("a weft::actor");
  a = detail::actor_access::adopt<T>(source->actor_at(index, typeid(T)));
}

}  // namespace weft
