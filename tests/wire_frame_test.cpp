// src/wire/frame.hpp: the cluster's frame format, and rejection of malformed input.
#include "wire/frame.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "weft/errors.hpp"

namespace {

using weft::wire::frame_type;

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out;
  for (char c : s)
    out.push_back(static_cast<std::byte>(c));
  return out;
}

// A whole frame (header + payload) as it would go on the wire.
std::vector<std::byte> wire_frame(frame_type type, std::uint64_t id, const std::string& payload) {
  auto body = bytes_of(payload);
  const std::span<const std::byte> pieces[] = {body};
  auto header = weft::wire::encode_header(type, id, pieces);
  std::vector<std::byte> out(header.begin(), header.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::string text_of(std::span<const std::byte> b) {
  std::string s;
  for (auto x : b)
    s.push_back(static_cast<char>(x));
  return s;
}

}  // namespace

TEST_CASE("frames round-trip through a reader fed one byte at a time") {
  std::vector<std::byte> stream;
  for (int i = 0; i < 3; ++i) {
    auto f = wire_frame(frame_type::request, 100 + static_cast<std::uint64_t>(i),
                        "payload " + std::to_string(i));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  auto empty = wire_frame(frame_type::heartbeat, 7, "");
  stream.insert(stream.end(), empty.begin(), empty.end());

  weft::wire::frame_reader reader;
  std::vector<weft::wire::frame> got;
  for (std::byte b : stream) {
    reader.feed(std::span(&b, 1));
    while (auto f = reader.next())
      got.push_back(std::move(*f));
  }
  REQUIRE(got.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(got[i].header.type == frame_type::request);
    CHECK(got[i].header.request_id == 100u + static_cast<unsigned>(i));
    CHECK(text_of(got[i].payload) == "payload " + std::to_string(i));
  }
  CHECK(got[3].header.type == frame_type::heartbeat);
  CHECK(got[3].payload.empty());
  CHECK(reader.pending_bytes() == 0);
}

TEST_CASE("a payload given in pieces is checksummed as one") {
  auto a = bytes_of("scatter-");
  auto b = bytes_of("gather");
  const std::span<const std::byte> pieces[] = {a, b};
  auto header = weft::wire::encode_header(frame_type::chunk, 9, pieces);
  std::vector<std::byte> stream(header.begin(), header.end());
  stream.insert(stream.end(), a.begin(), a.end());
  stream.insert(stream.end(), b.begin(), b.end());
  weft::wire::frame_reader reader;
  reader.feed(stream);
  auto f = reader.next();
  REQUIRE(f);
  CHECK(text_of(f->payload) == "scatter-gather");
}

TEST_CASE("a flipped bit anywhere in a frame is refused") {
  const auto good = wire_frame(frame_type::response, 5, "the answer is 42");
  for (std::size_t i = 0; i < good.size(); ++i) {
    CAPTURE(i);
    auto bad = good;
    bad[i] ^= std::byte{0x04};
    weft::wire::frame_reader reader;
    bool refused = false;
    try {
      reader.feed(bad);
      auto f = reader.next();
      // A flipped length bit may only make the frame incomplete (it waits for more bytes).
      refused = !f.has_value();
    } catch (const weft::protocol_error&) {
      refused = true;
    }
    CHECK(refused);
  }
}

TEST_CASE("wrong version, unknown type and oversized length are refused with a reason") {
  auto frame = wire_frame(frame_type::hello, 1, "hi");
  {
    auto bad = frame;
    bad[4] = std::byte{weft::wire::protocol_version + 1};  // the next version
    weft::wire::frame_reader reader;
    const std::string expected =
        "a frame of protocol version " + std::to_string(weft::wire::protocol_version + 1) +
        " arrived; this node speaks " + std::to_string(weft::wire::protocol_version);
    CHECK_THROWS_WITH_AS(reader.feed(bad), expected.c_str(), weft::protocol_error);
  }
  {
    auto bad = frame;
    bad[6] = std::byte{42};  // type 42
    weft::wire::frame_reader reader;
    CHECK_THROWS_WITH_AS(reader.feed(bad), doctest::Contains("unknown type 42"),
                         weft::protocol_error);
  }
  {
    auto bad = frame;
    bad[3] = std::byte{0x7F};  // ~2 GiB announced
    weft::wire::frame_reader reader(1 << 20);
    CHECK_THROWS_WITH_AS(reader.feed(bad), doctest::Contains("over the maximum of 1048576"),
                         weft::protocol_error);
  }
  std::vector<std::byte> big(2 << 20);
  const std::span<const std::byte> pieces[] = {big};
  CHECK_THROWS_WITH_AS(weft::wire::encode_header(frame_type::chunk, 1, pieces, 1 << 20),
                       doctest::Contains("send large objects in chunks"), weft::protocol_error);
}

TEST_CASE("a truncated frame stays pending; random bytes are refused, never crash") {
  auto frame = wire_frame(frame_type::request, 3, "incomplete");
  weft::wire::frame_reader reader;
  reader.feed(std::span(frame).first(frame.size() - 4));
  CHECK_FALSE(reader.next().has_value());
  CHECK(reader.pending_bytes() == frame.size() - 4);

  std::mt19937 rng(1);
  int refused = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::byte> noise(64 + rng() % 512);
    for (auto& b : noise)
      b = static_cast<std::byte>(rng());
    weft::wire::frame_reader r;
    try {
      r.feed(noise);
      while (r.next()) {
      }
    } catch (const weft::protocol_error&) {
      ++refused;
    }
  }
  CHECK(refused == 200);
}

TEST_CASE("a large frame can be taken over and completed in place, still checksummed") {
  std::string body(3000, 'z');
  for (std::size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + i % 26);
  auto frame = wire_frame(frame_type::response, 9, body);
  weft::wire::frame_reader reader;
  reader.feed(std::span(frame).first(weft::wire::header_size + 100));
  CHECK_FALSE(reader.take_large(4096).has_value());  // below the size asked for
  auto taken = reader.take_large(1000);
  REQUIRE(taken.has_value());
  CHECK(taken->second == 100);
  CHECK(reader.pending_bytes() == 0);
  auto& f = taken->first;
  CHECK(f.header.request_id == 9);
  REQUIRE(f.payload.size() == body.size());
  // The receiver reads the rest straight into the payload, as a connection does.
  std::memcpy(f.payload.data() + 100, frame.data() + weft::wire::header_size + 100,
              body.size() - 100);
  CHECK_NOTHROW(weft::wire::frame_reader::check(f));
  CHECK(text_of(f.payload) == body);

  // Placed: the bytes after the first one land elsewhere; the checksum covers both parts.
  std::vector<std::byte> elsewhere(f.payload.begin() + 1, f.payload.end());
  f.payload.resize(1);
  f.placed = elsewhere;
  CHECK_NOTHROW(weft::wire::frame_reader::check(f));
  elsewhere[500] = std::byte{'!'};
  CHECK_THROWS_WITH_AS(weft::wire::frame_reader::check(f), doctest::Contains("failed its checksum"),
                       weft::protocol_error);
}
