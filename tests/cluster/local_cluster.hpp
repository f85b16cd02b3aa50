#pragma once
// A cluster of real processes on 127.0.0.1 for the multi-process tests: a head started from a
// test's node program, workers and drivers added by the test, logs in a fresh directory, every
// process killed at the end (even when a check fails) and any sanitizer report in their logs
// turned into a failed check.

#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "process.hpp"
#include "weft/cluster.hpp"
#include "weft/errors.hpp"

namespace weft_test {

using namespace std::chrono_literals;

/// A head and workers on 127.0.0.1; logs in a fresh directory; everything killed at the end.
class local_cluster {
 public:
  /// Starts a head from `node_binary` with `common` (added to every process's environment).
  explicit local_cluster(std::string node_binary, std::map<std::string, std::string> common = {})
      : node_binary_(std::move(node_binary)), common_(std::move(common)) {
    char dir_template[] = "/tmp/weft-cluster-test-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    address_ = "127.0.0.1:" + std::to_string(free_port());
    common_["WEFT_ADDRESS"] = address_;
    common_["WEFT_LOG"] = "info";
    common_["WEFT_THREADS"] = "2";
    head_ = &start("head", {{"WEFT_ROLE", "head"}}, {});
    settings_.address = address_;
    if (common_.count("WEFT_TOKEN")) settings_.token = common_["WEFT_TOKEN"];
    if (common_.count("WEFT_TLS_CERT")) {
      settings_.tls_cert = common_["WEFT_TLS_CERT"];
      settings_.tls_key = common_["WEFT_TLS_KEY"];
      settings_.tls_ca = common_["WEFT_TLS_CA"];
    }
    wait_for_nodes(1);
  }
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;
  ~local_cluster() {
    processes_.clear();  // kills whatever still runs
    // A sanitizer report in any process of the cluster fails the test that started it.
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      const std::string log = child_process::read_file(entry.path().string());
      for (const char* marker : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                                 "runtime error:", "ERROR: LeakSanitizer"}) {
        CHECK_MESSAGE(log.find(marker) == std::string::npos, entry.path().filename().string(),
                      " has a sanitizer report:\n", log);
      }
    }
    if (std::getenv("WEFT_TEST_KEEP_LOGS")) {
      MESSAGE("logs kept in ", dir_);
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// Starts cluster_node with the cluster's settings plus `env`; output in <dir>/<name>.log.
  child_process& start(const std::string& name, std::map<std::string, std::string> env,
                       std::vector<std::string> args) {
    for (const auto& [k, v] : common_)
      env.emplace(k, v);
    processes_.push_back(
        std::make_unique<child_process>(node_binary_, args, env, dir_ + "/" + name + ".log"));
    return *processes_.back();
  }
  /// Starts a worker and waits until the head lists `expected_nodes` nodes.
  child_process& add_worker(const std::string& name, std::map<std::string, std::string> env,
                            std::size_t expected_nodes) {
    env["WEFT_ROLE"] = "worker";
    child_process& w = start(name, std::move(env), {});
    wait_for_nodes(expected_nodes);
    return w;
  }
  /// Polls the head until it lists `n` nodes (at most 20 s).
  weft::cluster_status wait_for_nodes(std::size_t n) {
    weft::cluster_status s;
    for (int i = 0; i < 200; ++i) {
      try {
        s = weft::query_cluster(settings_, 1s);
        if (s.nodes.size() == n) return s;
      } catch (const weft::error&) {
      }
      std::this_thread::sleep_for(100ms);
    }
    std::string ids;
    for (const weft::node_status& node : s.nodes)
      ids += " " + node.id;
    FAIL("the head did not list ", n, " nodes within 20 s; it lists ", s.nodes.size(), ":", ids);
    return s;
  }
  /// Runs the weft tool with `args`; its exit status and output.
  std::pair<int, std::string> run_cli(const std::string& cli_binary, std::vector<std::string> args,
                                      const std::string& log) {
    child_process cli(cli_binary, std::move(args), common_, dir_ + "/" + log + ".log");
    auto status = cli.wait_for(20s);
    REQUIRE(status.has_value());
    return {*status, cli.output()};
  }

  const std::string& address() const { return address_; }
  /// The directory of the logs (and of any file a test shares with its processes).
  const std::string& dir() const { return dir_; }
  child_process& head() { return *head_; }
  const weft::cluster_settings& settings() const { return settings_; }

 private:
  std::string node_binary_;
  std::map<std::string, std::string> common_;
  std::string dir_;
  std::string address_;
  weft::cluster_settings settings_;
  std::vector<std::unique_ptr<child_process>> processes_;
  child_process* head_ = nullptr;
};

/// True when `text` contains `part`.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The number after `key=` in `text`, or -1.
inline long long value_of(const std::string& text, const std::string& key) {
  auto at = text.find(key + "=");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + key.size() + 1));
}

}  // namespace weft_test
