// A governance service built from actors: agents ask to take actions; a pool of verifier
// actors checks each action's signature (HMAC-SHA256 over the payload, with a key each
// verifier holds), a governance actor applies the policy to the verified ones (a spending
// limit per account, in the order the actions arrived), and a named audit actor records every
// decision in order. A batch runs first: some actions are tampered with and some overspend on
// purpose, and the program checks that exactly those are refused and that the audit trail is
// in order. Then a paced stream of actions runs at a fixed rate and the program reports the
// latency from an action's arrival to its audit record (p50, p99).
//
// In a cluster (WEFT_ADDRESS set) the verifiers, the governance actor and the auditor are
// placed on workers running this program; every call's ref argument (a verdict not computed
// yet) is resolved by the node of the actor it is sent to, so calls are pipelined.
//
// Usage: governance [actions=20000] [verifiers=10] [stream_rate=2000] [stream_seconds=1]
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <cereal/types/array.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
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
  std::string account;
  long amount = 0;
  std::string payload;
  digest signature{};
  // How it travels to a verifier on another node of a cluster.
  template <class Archive>
  void serialize(Archive& a) {
    a(id, account, amount, payload, signature);
  }
};

// What a verifier decided about one action (the signature), with what the policy needs.
struct verdict {
  std::size_t id = 0;
  bool authentic = false;
  std::string account;
  long amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(id, authentic, account, amount);
  }
};

// What the governance actor decided.
struct decision {
  std::size_t id = 0;
  bool allowed = false;
  char reason = 'k';  // 'k' allowed, 's' bad signature, 'l' over the account's limit
};

// Holds the shared key and checks signatures; stateless between calls, so a pool of them
// can serve a batch in parallel.
class verifier {
 public:
  explicit verifier(std::string key) : key_(std::move(key)) {}
  verdict verify(const signed_action& action) {
    digest expected = hmac_sha256(key_, action.payload);
    bool ok = CRYPTO_memcmp(expected.data(), action.signature.data(), expected.size()) == 0;
    return verdict{action.id, ok, action.account, action.amount};
  }

 private:
  std::string key_;
};

// The policy: each account may spend up to its limit in all; decisions are taken in the order
// the verdicts arrive, which is the order of the actions (one caller, ordered calls).
class governance {
 public:
  explicit governance(long limit) : limit_(limit) {}
  decision decide(const verdict& v) {
    if (!v.authentic) return decision{v.id, false, 's'};
    long& spent = spent_[v.account];
    if (spent + v.amount > limit_) return decision{v.id, false, 'l'};
    spent += v.amount;
    return decision{v.id, true, 'k'};
  }
  long spent(const std::string& account) const {
    auto found = spent_.find(account);
    return found == spent_.end() ? 0 : found->second;
  }

 private:
  long limit_;
  std::map<std::string, long> spent_;
};

// Records every decision in the order the calls were made; no lock needed, calls never overlap.
class auditor {
 public:
  std::size_t record(const decision& d) {
    if (d.id != next_id_) out_of_order_ = true;
    next_id_ = d.id + 1;
    ++counts_[d.reason];
    return d.id;
  }
  std::string summary() const {
    auto count = [&](char r) {
      auto found = counts_.find(r);
      return found == counts_.end() ? std::size_t{0} : found->second;
    };
    return std::to_string(count('k')) + " allowed, " + std::to_string(count('s')) +
           " refused for their signature, " + std::to_string(count('l')) +
           " refused over the limit, " + (out_of_order_ ? "OUT OF ORDER" : "in order");
  }
  std::size_t refused(char reason) const {
    auto found = counts_.find(reason);
    return found == counts_.end() ? 0 : found->second;
  }
  bool in_order() const { return !out_of_order_; }
  // Starts a new trail (the stream's ids start again at 0).
  void reset() {
    next_id_ = 0;
    counts_.clear();
    out_of_order_ = false;
  }

 private:
  std::size_t next_id_ = 0;
  std::map<char, std::size_t> counts_;
  bool out_of_order_ = false;
};

}  // namespace

// Named for the cluster: with WEFT_ADDRESS set, these actors may live on workers running this
// program, and their listed methods are called there. Nothing changes in-process.
WEFT_ACTOR(verifier, &verifier::verify);
WEFT_ACTOR(governance, &governance::decide, &governance::spent);
WEFT_ACTOR(auditor, &auditor::record, &auditor::summary, &auditor::refused, &auditor::in_order,
           &auditor::reset);

namespace {

double arg_or(int argc, char** argv, int i, double fallback) {
  if (argc <= i) return fallback;
  double v = std::strtod(argv[i], nullptr);
  if (v <= 0) {
    std::fprintf(stderr, "argument %d must be a positive number, got '%s'\n", i, argv[i]);
    std::exit(2);
  }
  return v;
}

// Action `i` of a run: every 97th is tampered with after signing; amounts make some accounts
// overspend their limit.
signed_action make_action(std::size_t i, const std::string& key) {
  signed_action a;
  a.id = i;
  a.account = "account-" + std::to_string(i % 50);
  a.amount = static_cast<long>(i * 13 % 1000);
  a.payload = "transfer " + std::to_string(a.amount) + " from " + a.account;
  a.signature = hmac_sha256(key, a.payload);
  if (i % 97 == 0) a.payload += " (edited)";
  return a;
}

// The percentile `p` (0..1) of `sorted` samples.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(at, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const auto actions = static_cast<std::size_t>(arg_or(argc, argv, 1, 20000));
  const auto verifiers = static_cast<std::size_t>(arg_or(argc, argv, 2, 10));
  const double stream_rate = arg_or(argc, argv, 3, 2000);
  const double stream_seconds = arg_or(argc, argv, 4, 1);
  const std::string key = "governance-demo-key";
  const long limit = 100000;

  weft::runtime rt{weft::config::from_env()};

  // A pool of verifiers, the governance actor and a named audit actor.
  weft::actor_pool<verifier> pool(rt, verifiers, key);
  auto policy = rt.spawn<governance>(limit);
  rt.spawn<auditor>(weft::actor_options{.name = "audit", .lifetime = weft::lifetime::detached});
  auto audit = rt.get_actor<auditor>("audit");

  // The batch. Each verdict goes to the governance actor as a ref, and each decision to the
  // auditor as a ref: calls wait for their arguments without blocking anything and keep the
  // batch order.
  std::vector<signed_action> batch;
  batch.reserve(actions);
  for (std::size_t i = 0; i < actions; ++i)
    batch.push_back(make_action(i, key));
  const auto batch_start = std::chrono::steady_clock::now();
  std::vector<weft::ref<verdict>> verdicts = pool.map(&verifier::verify, batch);
  std::vector<weft::ref<std::size_t>> recorded;
  recorded.reserve(actions);
  for (const auto& v : verdicts)
    recorded.push_back(audit.call(&auditor::record, policy.call(&governance::decide, v)));
  weft::get(recorded);
  const double batch_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count();

  // What the checks expect, computed here the plain way.
  std::size_t tampered = 0;
  std::size_t over_limit = 0;
  std::map<std::string, long> spent;
  for (std::size_t i = 0; i < actions; ++i) {
    const signed_action& a = batch[i];
    if (i % 97 == 0) {
      ++tampered;
    } else if (spent[a.account] + a.amount > limit) {
      ++over_limit;
    } else {
      spent[a.account] += a.amount;
    }
  }
  const std::string summary = audit.call(&auditor::summary).get();
  const bool batch_ok =
      audit.call(&auditor::refused, 's').get() == tampered &&
      audit.call(&auditor::refused, 'l').get() == over_limit &&
      audit.call(&auditor::in_order).get() &&
      policy.call(&governance::spent, std::string("account-7")).get() == spent["account-7"];
  std::printf("verified %zu actions on %zu verifiers: %s\n", actions, verifiers, summary.c_str());
  std::printf("throughput: %.0f actions/s (verify, decide, audit)\n",
              static_cast<double>(actions) / batch_seconds);

  // The stream: actions arrive at a fixed rate; each one's latency runs from its arrival to
  // its audit record, taken here when the record's ref completes.
  audit.call(&auditor::reset).get();
  auto stream_policy = rt.spawn<governance>(limit);
  const auto stream_actions = static_cast<std::size_t>(stream_rate * stream_seconds);
  std::vector<signed_action> stream;
  for (std::size_t i = 0; i < stream_actions; ++i)
    stream.push_back(make_action(i, key));
  std::vector<double> latencies_ms;
  latencies_ms.reserve(stream_actions);
  // The same latencies as an application metric: rt.metrics_text(), and GET /metrics with
  // WEFT_METRICS_PORT set, export it beside weft's own figures.
  weft::metrics::histogram latency("governance_stream_latency_seconds",
                                   "From an action's arrival to its audit record.",
                                   {0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1});
  weft::metrics::counter decided("governance_stream_actions_total", "Actions of the stream.",
                                 {"outcome"});
  std::mutex latencies_mutex;
  std::vector<weft::ref<void>> noted;
  const auto period = std::chrono::duration<double>(1.0 / stream_rate);
  const auto stream_start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < stream_actions; ++i) {
    const auto arrival = stream_start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            period * static_cast<double>(i));
    std::this_thread::sleep_until(arrival);
    auto v = pool.submit(&verifier::verify, stream[i]);
    auto done = audit.call(&auditor::record, stream_policy.call(&governance::decide, v));
    noted.push_back(done.then([&, arrival](std::size_t) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - arrival)
              .count();
      latency.observe(ms / 1000);
      std::lock_guard lock(latencies_mutex);
      latencies_ms.push_back(ms);
    }));
    decided.inc(1, {i % 97 == 0 ? "tampered" : "signed"});
  }
  weft::get(noted);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const bool stream_ok = latencies_ms.size() == stream_actions &&
                         latency.count() == stream_actions && audit.call(&auditor::in_order).get();
  std::printf("stream of %zu actions at %.0f/s: %s\n", stream_actions, stream_rate,
              audit.call(&auditor::summary).get().c_str());
  std::printf("latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", percentile(latencies_ms, 0.5),
              percentile(latencies_ms, 0.99), latencies_ms.empty() ? 0.0 : latencies_ms.back());
  rt.kill(audit);

  if (!batch_ok || !stream_ok) {
    std::fprintf(stderr, "FAILED: expected %zu bad signatures and %zu over the limit, in order\n",
                 tampered, over_limit);
    return 1;
  }
  std::printf("ok: exactly the %zu tampered and %zu overspending actions were refused\n", tampered,
              over_limit);
  return 0;
}
