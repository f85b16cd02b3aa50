// The `weft` command-line tool: `weft start --head` runs a cluster's head in the foreground,
// `weft status` prints the nodes a head knows, `weft stop` stops a cluster.

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "weft/cluster.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"
#include "weft/tls_files.hpp"

namespace {

// Token and cluster settings shared by every subcommand: flags override the environment.
struct common_flags {
  std::string token_file;
  std::string cluster_name;

  void add_to(CLI::App& app) {
    app.add_option("--token-file", token_file,
                   "File whose first line is the cluster token (default: WEFT_TOKEN or "
                   "WEFT_TOKEN_FILE)")
        ->check(CLI::ExistingFile);
    app.add_option("--cluster", cluster_name, "Cluster name (default: WEFT_CLUSTER or weft)");
  }

  void apply(weft::cluster_settings& s) const {
    if (!token_file.empty()) {
      std::ifstream in(token_file);
      std::string line;
      std::getline(in, line);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.pop_back();
      if (line.empty())
        throw weft::config_error(fmt::format("{}: the first line is empty", token_file));
      s.token = line;
    }
    if (!cluster_name.empty()) s.cluster_name = cluster_name;
  }
};

int start_head(const std::string& host, int port, unsigned threads, bool no_token,
               const common_flags& flags) {
  weft::config cfg = weft::config::from_env();
  cfg.threads = threads;
  cfg.cluster.role = weft::node_role::head;
  cfg.cluster.address = fmt::format("{}:{}", host, port);
  cfg.cluster.serve_on_start = false;
  cfg.cluster.no_token = cfg.cluster.no_token || no_token;
  flags.apply(cfg.cluster);
  if (cfg.cluster.token.empty() && !cfg.cluster.no_token) {
    // A token by default: made once per user, read by every local node and by `weft stop`.
    const std::string path = weft::ensure_default_token();
    cfg.cluster = cfg.cluster.with_default_token();
    std::fprintf(stderr,
                 "weft: the cluster's token is in %s; local workers, drivers and the weft tool "
                 "read it from there, other machines need a copy (WEFT_TOKEN_FILE)\n",
                 path.c_str());
  } else if (cfg.cluster.token.empty()) {
    std::fprintf(stderr,
                 "weft: no token (--no-token or WEFT_NO_TOKEN): the head accepts local "
                 "processes only, on %s, and any of them can stop the cluster\n",
                 host.c_str());
  }
  weft::runtime rt{cfg};
  std::printf(
      "weft head of cluster '%s' listening on %s:%d (stop it with: weft stop --address "
      "%s:%d)\n",
      cfg.cluster.cluster_name.c_str(), host.c_str(), port, host.c_str(), port);
  std::fflush(stdout);
  rt.serve();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft: start, inspect and stop a weft cluster"};
  app.require_subcommand(1);

  common_flags start_flags, status_flags, stop_flags;
  bool head = false;
  std::string host = "127.0.0.1";
  int port = 7070;
  unsigned threads = 1;
  auto* start = app.add_subcommand(
      "start", "Run a cluster's head in the foreground until `weft stop` or SIGTERM");
  start
      ->add_flag("--head", head,
                 "Run the head (workers are your own program with "
                 "WEFT_ROLE=worker)")
      ->required();
  start->add_option("--host", host, "Address to listen on (another than 127.0.0.1 needs a token)");
  start->add_option("--port", port, "Port to listen on")->check(CLI::Range(1, 65535));
  start->add_option("--threads", threads, "Threads of the head's runtime");
  bool no_token = false;
  start->add_flag("--no-token", no_token,
                  "Run without a token (loopback only; any local process can stop the cluster) "
                  "instead of the default token file");
  start_flags.add_to(*start);

  std::string address;
  auto* status = app.add_subcommand("status", "Print the nodes of a cluster");
  status->add_option("--address", address, "The head's host:port (default: WEFT_ADDRESS)");
  status_flags.add_to(*status);

  auto* stop = app.add_subcommand("stop", "Stop a cluster: every worker, then the head");
  stop->add_option("--address", address, "The head's host:port (default: WEFT_ADDRESS)");
  stop_flags.add_to(*stop);

  auto* token = app.add_subcommand("token", "Cluster tokens");
  token->require_subcommand(1);
  auto* generate = token->add_subcommand(
      "generate", "Print a new token (256 random bits as 64 hex digits) for WEFT_TOKEN_FILE");

  auto* tls = app.add_subcommand("tls", "Certificates for a cluster's mutual TLS");
  tls->require_subcommand(1);
  std::string tls_dir, ca_dir, common_name = "weft node";
  int days = 365;
  auto* tls_init = tls->add_subcommand(
      "init",
      "Make a cluster CA and a node certificate it signed in DIR (ca.pem, ca-key.pem, "
      "cert.pem, key.pem; keys mode 0600)");
  tls_init->add_option("DIR", tls_dir, "Directory to write to (created, mode 0700)")->required();
  auto* tls_issue = tls->add_subcommand(
      "issue",
      "Make another node certificate (cert.pem, key.pem, and ca.pem) in DIR, signed by "
      "the CA in CA_DIR");
  tls_issue->add_option("CA_DIR", ca_dir, "Directory holding ca.pem and ca-key.pem")
      ->required()
      ->check(CLI::ExistingDirectory);
  tls_issue->add_option("DIR", tls_dir, "Directory to write to (created, mode 0700)")->required();
  for (CLI::App* sub : {tls_init, tls_issue}) {
    sub->add_option("--days", days, "Days the node certificate is valid")
        ->check(CLI::Range(1, 36500));
    sub->add_option("--name", common_name, "Common name of the node certificate");
  }

  CLI11_PARSE(app, argc, argv);
  try {
    if (generate->parsed()) {
      std::printf("%s\n", weft::generate_token().c_str());
      return 0;
    }
    if (tls_init->parsed() || tls_issue->parsed()) {
      weft::tls_files_options options;
      options.common_name = common_name;
      options.valid_for = std::chrono::hours(24) * days;
      const weft::tls_files files = tls_init->parsed()
                                        ? weft::make_tls_files(tls_dir, options)
                                        : weft::issue_tls_certificate(ca_dir, tls_dir, options);
      std::printf("WEFT_TLS_CERT=%s\nWEFT_TLS_KEY=%s\nWEFT_TLS_CA=%s\n", files.cert.c_str(),
                  files.key.c_str(), files.ca.c_str());
      return 0;
    }
    if (start->parsed()) return start_head(host, port, threads, no_token, start_flags);
    weft::cluster_settings s = weft::cluster_settings::from_env();
    if (!address.empty()) s.address = address;
    if (s.address.empty()) {
      std::fprintf(stderr,
                   "weft: give the head's address with --address host:port or "
                   "WEFT_ADDRESS\n");
      return 2;
    }
    if (status->parsed()) {
      status_flags.apply(s);
      std::fputs(weft::format_status(weft::query_cluster(s)).c_str(), stdout);
      return 0;
    }
    stop_flags.apply(s);
    weft::stop_cluster(s);
    std::printf("cluster at %s stopped\n", s.address.c_str());
    return 0;
  } catch (const weft::error& e) {
    std::fprintf(stderr, "weft: %s\n", e.what());
    return 1;
  }
}
