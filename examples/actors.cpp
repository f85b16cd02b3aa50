// A verification service built from actors, in the spirit of a governance pipeline: a pool of
// verifier actors checks a batch of signed actions (HMAC-SHA256 over the payload, with a key
// each verifier holds), a named audit actor records every verdict in the order the actions
// arrived, and a counter actor reports throughput. Some actions are tampered with on purpose;
// the program checks that exactly those are rejected and that the audit trail is in order.
//
// Usage: actors [actions=20000] [verifiers=10]
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <cereal/types/array.hpp>
#include <cereal/types/string.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using digest = std::array<unsigned char, 32>;

digest hmac_sha256(const std::string& key, const std::string& payload) {
  digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), out.data(), &len);
  return out;
}

// An action some agent wants to take, with the signature its issuer attached.
struct signed_action {
  std::size_t id = 0;
  std::string payload;
  digest signature{};
  // How it travels to a verifier on another node of a cluster.
  template <class Archive>
  void serialize(Archive& a) {
    a(id, payload, signature);
  }
};

// What a verifier decided about one action.
struct verdict {
  std::size_t id = 0;
  bool accepted = false;
};

// Holds the shared key and checks signatures; stateless between calls, so a pool of them
// can serve a batch in parallel.
class verifier {
 public:
  explicit verifier(std::string key) : key_(std::move(key)) {}
  verdict verify(const signed_action& action) {
    digest expected = hmac_sha256(key_, action.payload);
    bool ok = CRYPTO_memcmp(expected.data(), action.signature.data(), expected.size()) == 0;
    return verdict{action.id, ok};
  }

 private:
  std::string key_;
};

// Records every verdict in the order the calls were made; no lock needed, calls never overlap.
class auditor {
 public:
  void record(const verdict& v) {
    if (v.id != next_id_) out_of_order_ = true;
    next_id_ = v.id + 1;
    (v.accepted ? accepted_ : rejected_) += 1;
  }
  std::string summary() const {
    return std::to_string(accepted_) + " accepted, " + std::to_string(rejected_) + " rejected, " +
           (out_of_order_ ? "OUT OF ORDER" : "in order");
  }
  std::size_t rejected() const { return rejected_; }
  bool in_order() const { return !out_of_order_; }

 private:
  std::size_t next_id_ = 0;
  std::size_t accepted_ = 0;
  std::size_t rejected_ = 0;
  bool out_of_order_ = false;
};

// Counts verdicts and tells the rate since it started.
class throughput_counter {
 public:
  void tick() { ++count_; }
  double per_second() const {
    std::chrono::duration<double> s = std::chrono::steady_clock::now() - start_;
    return static_cast<double>(count_) / s.count();
  }

 private:
  std::size_t count_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

// Named for the cluster: with WEFT_ADDRESS set, these actors may live on workers running this
// program, and their listed methods are called there. Nothing changes in-process.
WEFT_ACTOR(verifier, &verifier::verify);
WEFT_ACTOR(auditor, &auditor::record, &auditor::summary, &auditor::rejected, &auditor::in_order);
WEFT_ACTOR(throughput_counter, &throughput_counter::tick, &throughput_counter::per_second);

namespace {

std::size_t arg_or(int argc, char** argv, int i, std::size_t fallback) {
  if (argc <= i) return fallback;
  long v = std::strtol(argv[i], nullptr, 10);
  if (v <= 0) {
    std::fprintf(stderr, "argument %d must be a positive number, got '%s'\n", i, argv[i]);
    std::exit(2);
  }
  return static_cast<std::size_t>(v);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t actions = arg_or(argc, argv, 1, 20000);
  const std::size_t verifiers = arg_or(argc, argv, 2, 10);
  const std::string key = "governance-demo-key";

  weft::runtime rt{weft::config::from_env()};

  // A pool of verifiers, a named audit actor and a throughput counter.
  weft::actor_pool<verifier> pool(rt, verifiers, key);
  rt.spawn<auditor>(weft::actor_options{.name = "audit", .lifetime = weft::lifetime::detached});
  auto counter = rt.spawn<throughput_counter>();

  // The batch: every 97th action is tampered with after signing.
  std::vector<signed_action> batch(actions);
  std::size_t tampered = 0;
  for (std::size_t i = 0; i < actions; ++i) {
    batch[i].id = i;
    batch[i].payload =
        "transfer " + std::to_string(i * 13 % 1000) + " to account " + std::to_string(i);
    batch[i].signature = hmac_sha256(key, batch[i].payload);
    if (i % 97 == 0) {
      batch[i].payload += " (edited)";
      ++tampered;
    }
  }

  // Verify on the pool; each verdict goes to the audit actor as a ref, so the audit call waits
  // for its verdict without blocking anything, and audit calls keep the batch order.
  auto audit = rt.get_actor<auditor>("audit");
  std::vector<weft::ref<verdict>> verdicts = pool.map(&verifier::verify, batch);
  for (const auto& v : verdicts) {
    audit.call(&auditor::record, v);
    counter.call(&throughput_counter::tick);
  }

  std::string summary = audit.call(&auditor::summary).get();
  std::size_t rejected = audit.call(&auditor::rejected).get();
  bool in_order = audit.call(&auditor::in_order).get();
  double rate = counter.call(&throughput_counter::per_second).get();
  std::printf("verified %zu actions on %zu verifiers: %s\n", actions, verifiers, summary.c_str());
  std::printf("throughput: %.0f verdicts/s\n", rate);
  rt.kill(audit);

  if (rejected != tampered || !in_order) {
    std::fprintf(stderr, "FAILED: expected %zu rejected, in order\n", tampered);
    return 1;
  }
  std::printf("ok: exactly the %zu tampered actions were rejected\n", tampered);
  return 0;
}
