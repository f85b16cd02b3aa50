#pragma once
/// \file
/// Values on their way to another process: a `wire_value` is a list of byte pieces plus
/// whatever keeps the memory they point into alive (the encoder's buffers, the values
/// themselves, pinned arena objects). Contiguous trivially copyable data is not copied: its
/// piece points at the value, and the socket writes it from there (scatter-gather).
///
/// A task's argument list is encoded as entries: a tag byte, an 8-byte little-endian length
/// and that many bytes. Tag `entry_value`: the value's bytes (codec.hpp: direct bytes or a
/// cereal binary archive). Tag `entry_reference`: an object owned by another node (its id as
/// a length-prefixed text, then the object's id, size and key, 8 bytes each), which the
/// receiver pulls from that node before the task runs. Tag `entry_deferred`: a ref that the
/// sending node exported under a token (at the top level: the 4-byte index of its handle; in
/// the handle table: the node's id as a length-prefixed text, then the token), whose value that
/// node sends after the request, on its connection, once the ref is ready. Tag
/// `entry_handles`, last if present: the refs and actor handles found inside the other values
/// (a vector of refs, an actor handle), as nested entries in the order the values name them:
/// value, reference or deferred entries for refs, and `entry_actor` entries for actor handles.
///
/// While a value is encoded here, the refs and actor handles inside it are collected as
/// handles (see handle_codec.hpp); the cluster layer turns them into entries before sending.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "weft/detail/codec.hpp"
#include "weft/detail/core_api.hpp"
#include "weft/detail/object_record.hpp"
#include "weft/detail/state.hpp"

namespace weft::detail {

class wire_value;

/// Appends the value of a complete, not failed ref state as one argument entry of `out` (a
/// value entry, or a reference entry when the value lives on another node). Erases T.
using ref_value_encoder = void (*)(state_base& state, wire_value& out);

/// A ref or an actor handle met while encoding a value, kept (with a reference) until the
/// cluster layer has turned it into an entry.
struct wire_handle {
  /// A ref's state and how its value is encoded, or null for an actor handle.
  state_base* state = nullptr;
  ref_value_encoder encode = nullptr;
  /// An actor handle's cell, or null for a ref.
  actor_base* actor = nullptr;
};

/// The wire_value whose encoding runs on this thread (so that a ref or actor handle inside a
/// value can register itself as a handle), or nullptr.
wire_value* current_handle_sink() noexcept;

/// Makes `sink` the thread's handle sink for its scope (restores the previous one after).
class handle_sink_scope {
 public:
  explicit handle_sink_scope(wire_value* sink) noexcept;
  ~handle_sink_scope();
  handle_sink_scope(const handle_sink_scope&) = delete;
  handle_sink_scope& operator=(const handle_sink_scope&) = delete;

 private:
  wire_value* previous_;
};

/// Encoded bytes plus what keeps them valid. Not copyable; share it through a shared_ptr.
class wire_value {
 public:
  /// Tags of argument entries.
  static constexpr unsigned char entry_value = 0;
  static constexpr unsigned char entry_reference = 1;
  static constexpr unsigned char entry_deferred = 2;
  static constexpr unsigned char entry_handles = 3;
  static constexpr unsigned char entry_actor = 4;

  wire_value() = default;
  wire_value(const wire_value&) = delete;
  wire_value& operator=(const wire_value&) = delete;
  ~wire_value() {
    for (object_record* r : pins_)
      r->unpin();
    for (const wire_handle& h : handles_) {
      if (h.state) h.state->release();
      if (h.actor) release_actor(h.actor);
    }
    for (state_base* s : kept_states_)
      s->release();
    if (owner_release_) owner_release_(owner_);
  }

  /// Makes room for `entries` argument entries (one allocation each for the piece and entry
  /// lists, instead of growing them).
  void reserve_entries(std::size_t entries) {
    pieces_.reserve(2 * entries);
    entries_.reserve(entries);
  }

  /// The bytes, in order.
  const std::vector<std::span<const std::byte>>& pieces() const noexcept { return pieces_; }
  /// Total number of bytes of all pieces.
  std::uint64_t size() const noexcept { return size_; }

  /// Appends `value`'s encoding (no copy on the direct path: keep `value` alive, e.g. with
  /// keep_alive, until the bytes are written).
  template <class T>
  void append(const T& value) {
    encoded_value enc;
    if constexpr (is_direct_v<T>) {
      encode(value, enc);
    } else {
      handle_sink_scope scope(this);  // refs and actor handles inside register themselves
      encode(value, enc);
    }
    if (!enc.buffer.empty()) {
      std::string& stable = buffers_.emplace_back(std::move(enc.buffer));
      add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
    } else {
      for (auto piece : enc.pieces)
        add_piece(piece);
    }
  }
  /// Where one argument entry is among pieces(). For a value entry, the pieces of its bytes
  /// (after its tag and length); for a reference entry, the whole encoded entry.
  struct entry_pieces {
    unsigned char tag = entry_value;
    std::size_t first_piece = 0;  ///< Index of the first piece.
    std::size_t pieces = 0;       ///< How many pieces.
    std::uint64_t size = 0;       ///< Their byte count.
    /// For a value entry taken from an arena object (a ref argument): its record, so that
    /// the cluster layer can offer the object under one id to every node (pulled once each).
    object_record* source = nullptr;
    /// For a deferred entry: the index of its ref among handles().
    std::uint32_t handle = 0;
  };

  /// Appends the encoding of `value`, which this wire_value then owns: a small trivially
  /// copyable value is copied inside it (no allocation), anything else is kept alive beside it.
  template <class T>
  void append_owned(T&& value) {
    using V = std::remove_cvref_t<T>;
    if constexpr (std::is_trivially_copyable_v<V> && sizeof(V) <= inline_bytes) {
      if (inline_bytes_used_ + sizeof(V) <= inline_bytes) {
        std::byte* at = inline_bytes_.data() + inline_bytes_used_;
        std::memcpy(at, &value, sizeof(V));
        inline_bytes_used_ += sizeof(V);
        add_piece(std::span<const std::byte>(at, sizeof(V)));
        return;
      }
    }
    auto kept = std::make_shared<const V>(std::forward<T>(value));
    append(*kept);
    keep_alive(std::move(kept));
  }

  /// Appends an argument entry holding `value` (tag, length, bytes); `source` is the arena
  /// record the value is read from, if any (see entry_pieces::source).
  template <class T>
  void append_entry(const T& value, object_record* source = nullptr) {
    auto& prefix = new_prefix();
    prefix[0] = std::byte{entry_value};
    add_piece(prefix);
    const std::uint64_t before = size_;
    const std::size_t first = pieces_.size();
    append(value);
    const std::uint64_t n = size_ - before;
    for (std::size_t i = 0; i < 8; ++i)
      prefix[1 + i] = std::byte((n >> (8 * i)) & 0xFF);
    entries_.push_back({entry_value, first, pieces_.size() - first, n, source});
  }
  /// Appends a value entry of `size` bytes borrowed from `pieces` (kept valid by the caller, e.g.
  /// with keep_alive).
  void append_entry_pieces(std::span<const std::span<const std::byte>> pieces, std::uint64_t size) {
    auto& prefix = new_prefix();
    prefix[0] = std::byte{entry_value};
    for (std::size_t i = 0; i < 8; ++i)
      prefix[1 + i] = std::byte((size >> (8 * i)) & 0xFF);
    add_piece(prefix);
    const std::size_t first = pieces_.size();
    for (auto piece : pieces)
      add_piece(piece);
    entries_.push_back({entry_value, first, pieces_.size() - first, size});
  }
  /// The argument entries appended so far, in order.
  const std::vector<entry_pieces>& entries() const noexcept { return entries_; }
  /// Appends an argument entry naming object `id` (of `size` bytes) owned by node `owner`,
  /// the value of its tracked object `key` (0: none).
  void append_reference(const std::string& owner, std::uint64_t id, std::uint64_t size,
                        std::uint64_t key = 0);
  /// Appends an entry for ref `state`, not complete yet, whose value `encode` appends once it
  /// is: a placeholder (no bytes) the cluster layer replaces by a deferred entry.
  void append_deferred(state_base& state, ref_value_encoder encode) {
    const std::uint32_t index = add_ref_handle(state, encode);
    entries_.push_back({entry_deferred, pieces_.size(), 0, 0, nullptr, index});
  }
  /// Appends an entry of tag `tag` (deferred, handles or actor) whose bytes are `body`, copied.
  void append_tagged(unsigned char tag, std::span<const std::byte> body);
  /// Records ref `state` met inside a value being encoded (one reference taken); returns its
  /// index among handles().
  std::uint32_t add_ref_handle(state_base& state, ref_value_encoder encode) {
    state.retain();
    handles_.push_back({&state, encode, nullptr});
    return static_cast<std::uint32_t>(handles_.size() - 1);
  }
  /// Records the actor handle `actor` met inside a value being encoded (one reference
  /// taken); returns its index among handles().
  std::uint32_t add_actor_handle(actor_base& actor) {
    retain_actor(&actor);
    handles_.push_back({nullptr, nullptr, &actor});
    return static_cast<std::uint32_t>(handles_.size() - 1);
  }
  /// The refs and actor handles met while encoding, in the order their values named them.
  const std::vector<wire_handle>& handles() const noexcept { return handles_; }
  /// Appends raw bytes, copied.
  void append_copy(std::span<const std::byte> bytes) {
    std::string& stable =
        buffers_.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
  }
  /// Appends bytes that stay valid as long as this value (keep their owner alive with
  /// keep_alive); not copied.
  void append_borrowed(std::span<const std::byte> bytes) { add_piece(bytes); }
  /// Keeps `owner` alive as long as this value (what a direct-path piece points into).
  void keep_alive(std::shared_ptr<const void> owner) {
    if (!keep_first_)
      keep_first_ = std::move(owner);
    else
      keep_.push_back(std::move(owner));
  }
  /// Calls `release(owner)` when this value is destroyed: keeps an intrusively counted owner
  /// (a task whose stored arguments the pieces point into) without a shared_ptr. Once only.
  void hold(void* owner, void (*release)(void*)) noexcept {
    owner_ = owner;
    owner_release_ = release;
  }
  /// Keeps the ref state `state` (whose value a piece points into) alive as long as this
  /// value, whatever happens to the refs that named it.
  void keep_state(state_base& state) {
    state.retain();
    kept_states_.push_back(&state);
  }
  /// Pins `record` in memory for as long as this value (an arena object being sent); may
  /// throw object_lost when it cannot be restored.
  void pin(object_record* record) {
    record->pin();
    pins_.push_back(record);
  }

 private:
  void add_piece(std::span<const std::byte> piece) {
    pieces_.push_back(piece);
    size_ += piece.size();
  }
  // Storage for an entry's tag and length that never moves (pieces point at it).
  std::array<std::byte, 9>& new_prefix() {
    if (inline_prefixes_used_ < inline_prefixes_.size())
      return inline_prefixes_[inline_prefixes_used_++];
    return prefixes_.emplace_back();
  }

  static constexpr std::size_t inline_bytes = 32;

  std::vector<std::span<const std::byte>> pieces_;
  std::uint64_t size_ = 0;
  std::list<std::string> buffers_;  // a list never moves its elements: pieces stay valid
  // The first entries' prefixes and small owned values live inside the object (which never
  // moves: it is not copyable and lives behind a shared_ptr), the rest in lists.
  std::array<std::array<std::byte, 9>, 4> inline_prefixes_{};
  std::size_t inline_prefixes_used_ = 0;
  std::list<std::array<std::byte, 9>> prefixes_;
  alignas(8) std::array<std::byte, inline_bytes> inline_bytes_{};
  std::size_t inline_bytes_used_ = 0;
  std::vector<entry_pieces> entries_;
  std::shared_ptr<const void> keep_first_;
  std::vector<std::shared_ptr<const void>> keep_;
  std::vector<object_record*> pins_;
  std::vector<wire_handle> handles_;
  std::vector<state_base*> kept_states_;
  void* owner_ = nullptr;
  void (*owner_release_)(void*) = nullptr;
};

/// Appends the value of the complete, not failed ref state `s` (of a ref<T>) to `out` as one
/// argument entry: a reference to the node that owns it when it lives elsewhere, else its
/// bytes (an arena object pinned while `out` lives).
template <class T>
void append_ref_value(state_base& s, wire_value& out) {
  auto& st = static_cast<state<T>&>(s);
  if constexpr (std::is_void_v<T>) {
    out.append_entry_pieces({}, 0);
  } else {
    object_record* r = st.record();
    if (r != nullptr) {
      if (r->remote_) {
        out.append_reference(r->remote_->owner(), r->remote_->id(), r->remote_->size());
        return;
      }
      out.pin(r);  // restored if spilled, held while sent
    }
    out.keep_state(s);  // the bytes may be borrowed from its value
    out.append_entry(st.value(), r);
  }
}

/// A payload_source over bytes in memory.
class memory_source final : public payload_source {
 public:
  explicit memory_source(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}
  std::uint64_t size() const noexcept override { return bytes_.size(); }
  std::span<const std::byte> in_memory() const noexcept override { return bytes_; }
  void read_all(std::span<std::byte> into) override {
    if (!into.empty()) std::memcpy(into.data(), bytes_.data(), into.size());
  }

 private:
  std::span<const std::byte> bytes_;
};

/// Throws weft::protocol_error: an encoded value list ends early or has bytes left over.
[[noreturn]] void throw_bad_value_list(std::size_t index, std::uint64_t need, std::size_t have);
/// Throws weft::protocol_error: `got` arguments arrived for a function taking `expected`.
[[noreturn]] void throw_argument_count(std::size_t got, std::size_t expected);

/// One entry of an encoded argument list.
struct wire_entry {
  unsigned char tag = wire_value::entry_value;
  std::span<const std::byte> bytes;
};

/// Splits an encoded argument list into its entries; throws protocol_error if it is malformed.
std::vector<wire_entry> split_entries(std::span<const std::byte> bytes);

/// A reference entry's fields: the node holding the bytes, the hold's id there, their size,
/// and the key of the tracked object they are the value of (0 for none): holds of one object
/// share its key, so a node keeps one copy per key however many holds name it.
struct wire_reference {
  std::string owner;
  std::uint64_t id = 0;
  std::uint64_t size = 0;
  std::uint64_t key = 0;
};
/// Decodes a reference entry's bytes; throws protocol_error if they are malformed.
wire_reference parse_reference(std::span<const std::byte> bytes);

/// A deferred entry's fields: the node that exported the ref, and its token there.
struct wire_deferred {
  std::string node;
  std::uint64_t token = 0;
};
/// The bytes of a deferred entry.
std::string deferred_bytes(const wire_deferred& d);
/// Decodes a deferred entry's bytes; throws protocol_error if they are malformed.
wire_deferred parse_deferred(std::span<const std::byte> bytes);

/// An actor entry's fields: where the actor lives, how it is named, and the grant under which
/// the sending node asked its owner to count the receiver as a holder.
struct wire_actor {
  std::string owner;
  std::string id;
  std::string name;
  std::string name_space;
  std::string type;
  std::string grantor;  ///< The node that made the grant.
  std::uint64_t grant = 0;
};
/// The bytes of an actor entry.
std::string actor_bytes(const wire_actor& a);
/// Decodes an actor entry's bytes; throws protocol_error if they are malformed.
wire_actor parse_actor(std::span<const std::byte> bytes);

/// Where the refs and actor handles inside decoded values come from: the handles of an
/// arrived argument list, resolved by the cluster layer before the values are decoded.
class handle_source {
 public:
  /// A resolved ref: its value's encoded bytes, or the error it completed with.
  struct resolved_ref {
    std::span<const std::byte> bytes;
    std::exception_ptr error;
  };
  /// Handle `index` as a ref; throws protocol_error if it is not one.
  virtual resolved_ref ref_at(std::uint32_t index) = 0;
  /// Handle `index` as an actor of `type`: its cell with one reference and one handle for
  /// the caller. Throws protocol_error if it is not one, weft::error for another type.
  virtual actor_base* actor_at(std::uint32_t index, const std::type_info& type) = 0;

 protected:
  ~handle_source() = default;
};

/// The handle source of the values being decoded on this thread, or nullptr.
handle_source* current_handle_source() noexcept;

/// Makes `source` the thread's handle source for its scope (restores the previous one after).
class handle_source_scope {
 public:
  explicit handle_source_scope(handle_source* source) noexcept;
  ~handle_source_scope();
  handle_source_scope(const handle_source_scope&) = delete;
  handle_source_scope& operator=(const handle_source_scope&) = delete;

 private:
  handle_source* previous_;
};

/// Decodes argument values one after another from their (resolved) bytes; refs and actor
/// handles inside them come from `handles` (null when the arguments carried none).
class value_list_reader {
 public:
  explicit value_list_reader(std::span<const std::span<const std::byte>> values,
                             handle_source* handles = nullptr) noexcept
      : values_(values), handles_(handles) {}

  /// Decodes the next value as a T; throws protocol_error if there is none.
  template <class T>
  T next() {
    if (index_ >= values_.size()) throw_argument_count(values_.size(), index_ + 1);
    memory_source source(values_[index_++]);
    if constexpr (is_direct_v<T>) {
      return decode<T>(source);
    } else {
      handle_source_scope scope(handles_);
      return decode<T>(source);
    }
  }
  /// Throws protocol_error unless every value was read.
  void finish() const {
    if (index_ != values_.size()) throw_argument_count(values_.size(), index_);
  }

 private:
  std::span<const std::span<const std::byte>> values_;
  handle_source* handles_;
  std::size_t index_ = 0;
};

/// Decodes a T from exactly `bytes` (no length prefix).
template <class T>
T decode_bytes(std::span<const std::byte> bytes) {
  memory_source source(bytes);
  return decode<T>(source);
}

}  // namespace weft::detail
