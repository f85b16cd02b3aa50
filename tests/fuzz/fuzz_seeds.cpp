// Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<harness>/) from the real
// encoders: frames as connections send them, messages as the nodes write them, values as the
// codec encodes them, and handshake scripts that run an honest handshake to the end. With
// --check it compares the checked-in corpus with what it would write (CTest runs that, so a
// protocol change cannot leave stale seeds behind). Built with the tests, not with libFuzzer.
//
//   fuzz_seeds --write tests/fuzz/corpus     regenerate
//   fuzz_seeds --check tests/fuzz/corpus     exit 1 if any seed differs or is missing

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "support/value_bytes.hpp"
#include "weft/detail/wire_value.hpp"
#include "wire/frame.hpp"
#include "wire/handshake.hpp"
#include "wire/messages.hpp"

namespace {

namespace fs = std::filesystem;
namespace wire = weft::wire;
namespace detail = weft::detail;

// One seed: its harness, its file name and its bytes.
struct seed {
  std::string harness;
  std::string name;
  std::string bytes;
};

std::string frame_bytes(wire::frame_type type, std::uint64_t request, const std::string& payload) {
  const std::span<const std::byte> pieces[] = {std::as_bytes(std::span(payload))};
  const auto header = wire::encode_header(type, request, pieces);
  return std::string(reinterpret_cast<const char*>(header.data()), header.size()) + payload;
}

wire::node_record sample_node() {
  wire::node_record n;
  n.id = "w-3";
  n.role = wire::role_code::worker;
  n.address = "127.0.0.1:7001";
  n.resources = {{"cpu", 2}, {"gpu", 0}};
  n.available = {{"cpu", 1}};
  n.functions = {"add", "scale"};
  n.actor_types = {"counter"};
  n.load = 3;
  n.tasks_served = 1200;
  n.uptime_seconds = 12.5;
  n.pid = 4242;
  n.heartbeats = 25;
  return n;
}

// Frame streams: a handshake's frames, then requests and responses as a connection sends them.
// The harness reads its settings from the last 9 bytes (FuzzedDataProvider takes integers from
// the end); 0 there means: keep the headers as they are, split the stream in small pieces.
std::vector<seed> frame_seeds() {
  wire::task_header task{"add", "sum of two", 1, {{"cpu", 1}}};
  std::string run = wire::request_payload(wire::request_kind::run_task, task);
  run += std::string("\x00\x08\x00\x00\x00\x00\x00\x00\x00", 9) + std::string(8, '\x02');
  const std::string settings(9, '\0');
  std::vector<seed> seeds;
  seeds.push_back({"frame_reader", "handshake",
                   frame_bytes(wire::frame_type::hello, 0,
                               std::string("\x03\x00\x00\x00lab", 7) + std::string(32, 'n') +
                                   std::string("\x03\x00\x00\x00w-1", 7)) +
                       frame_bytes(wire::frame_type::challenge, 0, std::string(32, 'm')) +
                       settings});
  seeds.push_back(
      {"frame_reader", "requests",
       frame_bytes(wire::frame_type::request, 7, run) +
           frame_bytes(wire::frame_type::heartbeat, 0,
                       wire::to_bytes(wire::heartbeat{1, 2, 3, 4, {{"cpu", 2}}})) +
           frame_bytes(wire::frame_type::response, 7,
                       wire::response_payload(wire::response_status::ok, wire::spawn_answer{})) +
           settings});
  seeds.push_back({"frame_reader", "large",
                   frame_bytes(wire::frame_type::chunk, 9, std::string(3000, 'c')) + settings});
  return seeds;
}

// Handshake scripts, read from the end: the seed of the nonces, then for each step the side
// (1: the listener) and the action (0: pass the next frame on as it is).
std::vector<seed> handshake_seeds() {
  const std::vector<std::uint8_t> honest = {5, 1, 0, 0, 0, 1, 0, 0, 0};
  const std::vector<std::uint8_t> replay = {9, 1, 4, 1, 0, 0, 0, 1, 0, 0, 0};
  const std::vector<std::uint8_t> flipped = {3, 1, 0, 0, 0, 1, 1, 17, 0, 0, 0};
  std::vector<seed> seeds;
  for (const auto& [name, script] :
       {std::pair{"honest", honest}, std::pair{"replay", replay}, std::pair{"flipped", flipped}})
    seeds.push_back({"handshake", name, std::string(script.rbegin(), script.rend())});
  return seeds;
}

// Messages: the selector byte of messages_fuzz, then the message's bytes.
std::vector<seed> message_seeds() {
  std::vector<seed> seeds;
  const auto add = [&](int selector, const std::string& name, const std::string& bytes) {
    seeds.push_back({"messages", name, std::string(1, static_cast<char>(selector)) + bytes});
  };
  const wire::node_record node = sample_node();
  const wire::actor_record actor{"ledger", "bank", "account", "w-3", "w-3/a7"};
  add(0, "node_record", wire::to_bytes(node));
  add(1, "actor_record", wire::to_bytes(actor));
  add(2, "cluster_view", wire::to_bytes(wire::cluster_view{"lab", {node, node}, {actor}}));
  add(3, "join_reply", wire::to_bytes(wire::join_reply{"w-4", {"lab", {node}, {}}}));
  add(4, "heartbeat", wire::to_bytes(wire::heartbeat{1, 2, 3, 4, {{"cpu", 2}}}));
  add(5, "task_header", wire::to_bytes(wire::task_header{"add", "sum", 2, {{"cpu", 1}}}));
  add(6, "actor_call_header",
      wire::to_bytes(wire::actor_call_header{"w-3/a7", "account::deposit", "pay", 0}));
  add(10, "actor_end", wire::to_bytes(wire::actor_end{"w-3/a7", "the actor's node died"}));
  add(11, "failure", wire::to_bytes(wire::failure{"std::runtime_error", "boom", "w-3"}));
  add(19, "actor_id", wire::to_bytes(wire::actor_id_message{"w-3/a7"}));
  add(21, "deferred", detail::deferred_bytes({"w-3", 77}));
  add(22, "actor_entry",
      detail::actor_bytes({"w-3", "w-3/a7", "ledger", "bank", "account", "head", 5}));
  return seeds;
}

using weft_test::encoded;

// Values: the selector byte of value_codec_fuzz, then the value's encoding.
std::vector<seed> value_seeds() {
  std::vector<seed> seeds;
  const auto add = [&](int selector, const std::string& name, const std::string& bytes) {
    seeds.push_back({"value_codec", name, std::string(1, static_cast<char>(selector)) + bytes});
  };
  add(0, "strings", encoded(std::vector<std::string>{"alpha", "", "gamma"}));
  add(1, "map",
      encoded(std::map<std::string, std::vector<std::int32_t>>{{"a", {1, 2}}, {"b", {}}}));
  add(2, "tuple", encoded(std::tuple<std::int64_t, std::string, double, bool>{-5, "t", 2.5, true}));
  add(3, "variant",
      encoded(std::variant<std::int32_t, std::string, std::vector<double>>{
          std::vector<double>{1.0, 2.0}}));
  add(4, "optional", encoded(std::optional<std::vector<std::uint16_t>>{{7, 8, 9}}));
  add(8, "nested", encoded(std::vector<std::vector<std::vector<char>>>{{{'a'}, {}}, {}}));
  add(12, "doubles", encoded(std::vector<double>{0.5, -1.0, 1e300}));
  add(13, "text", encoded(std::string("a string on the direct path")));
  return seeds;
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode != "--write" && mode != "--check") {
    std::fprintf(stderr, "usage: %s --write|--check CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[2];
  std::vector<seed> seeds;
  for (auto part : {frame_seeds(), handshake_seeds(), message_seeds(), value_seeds()})
    seeds.insert(seeds.end(), part.begin(), part.end());
  int stale = 0;
  for (const seed& s : seeds) {
    const fs::path path = root / s.harness / s.name;
    if (mode == "--write") {
      fs::create_directories(path.parent_path());
      std::ofstream(path, std::ios::binary) << s.bytes;
    } else if (read_file(path) != s.bytes) {
      std::fprintf(stderr,
                   "fuzz seed %s is missing or stale; regenerate the corpus with: "
                   "build/default/tests/fuzz_seeds --write tests/fuzz/corpus\n",
                   path.string().c_str());
      ++stale;
    }
  }
  if (mode == "--write") std::printf("wrote %zu seeds under %s\n", seeds.size(), argv[2]);
  return stale == 0 ? 0 : 1;
}
