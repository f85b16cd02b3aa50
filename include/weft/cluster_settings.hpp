#pragma once
/// \file
/// weft::cluster_settings: whether and how a runtime joins a cluster. Part of weft::config
/// (`config::cluster`); all defaults mean "in-process, nothing network-related starts".

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace weft {

/// What a process does in a cluster.
enum class node_role {
  /// A driver when `cluster_settings::address` is set, else in-process only.
  automatic,
  /// Runs the program's own work and sends tasks to workers; runs no one else's tasks.
  driver,
  /// Runs tasks for the cluster (see cluster_settings::serve_on_start).
  worker,
  /// The control service: membership, function directory, heartbeats. Runs no tasks.
  head,
};

/// The name of `role` as WEFT_ROLE spells it ("driver", "worker", "head", "automatic").
const char* role_name(node_role role) noexcept;

/// Cluster settings of a runtime. With `address` empty and `role` automatic (the defaults),
/// the runtime is in-process only: no thread, socket or timer of the cluster layer starts.
struct cluster_settings {
  /// `host:port` of the head. For a head, where it listens (host defaults to 127.0.0.1).
  std::string address{};

  /// The process's role; `automatic` means driver when `address` is set.
  node_role role = node_role::automatic;

  /// `host:port` a worker or driver listens on for its peers (tasks, and pulls of the objects
  /// it holds); empty means the address it uses to reach the head, on a port the system picks.
  std::string listen{};

  /// The shared secret every node proves it knows (HMAC-SHA256 challenge-response; the token
  /// never crosses the wire). Empty: the cluster is open to any local process, so nodes may
  /// only listen on loopback addresses.
  std::string token{};

  /// Run without a token on purpose (WEFT_NO_TOKEN=1, `weft start --no-token`): the default
  /// token file is not read, nodes listen on loopback only, and any local process can stop
  /// the cluster. Without it and without a token, a node uses the default token file when
  /// there is one (default_token_path; `weft start` makes it).
  bool no_token = false;

  /// TLS 1.3 on every cluster connection, both ends proving a certificate signed by the
  /// cluster's CA (mutual TLS; the token handshake still runs inside it). Paths of PEM files:
  /// this node's certificate chain, its private key, and the CA certificate its peers'
  /// certificates must chain to. All three or none; `weft tls init DIR` makes a set. A node
  /// with TLS and one without refuse each other, saying so.
  std::string tls_cert{};
  std::string tls_key{};  ///< See tls_cert.
  std::string tls_ca{};   ///< See tls_cert.

  /// True when tls_cert, tls_key and tls_ca are set.
  bool tls_enabled() const noexcept { return !tls_cert.empty(); }

  /// A name every node of one cluster must share; nodes of another cluster are refused.
  std::string cluster_name = "weft";

  /// How often each node tells the head it is alive (and its load).
  std::chrono::milliseconds heartbeat_interval{500};

  /// How long the head waits without a heartbeat before it marks a node dead. At least twice
  /// the interval.
  std::chrono::milliseconds heartbeat_timeout{10000};

  /// How long a node keeps trying to reach the head when it starts.
  std::chrono::milliseconds connect_timeout{10000};

  /// How long a worker keeps trying to reach the head again after the head's connection
  /// closed under it (the head died or restarted), while it goes on running what it has; then
  /// it stops. A driver keeps trying as long as it runs. When a head is back at the same
  /// address, the node joins it again under its own id and re-registers its named actors.
  std::chrono::milliseconds head_reconnect_timeout{60000};

  /// Local queue length from which a driver sends registered tasks to workers; below it they
  /// run locally. 0 sends every registered task away while a worker has the function; -1
  /// (default) means four per local thread.
  int offload_threshold = -1;

  /// Largest frame payload accepted from a peer, in bytes (larger objects travel in chunks).
  std::uint32_t max_frame_bytes = 64u << 20;

  /// Bytes of lineage a driver or worker keeps at most: for each large task result held on
  /// the worker that computed it, the encoded call that made it, so that the result can be
  /// rebuilt here if that worker dies. Past the budget, new results keep none (reading one
  /// after its worker died fails with object_lost saying so); 0 keeps no lineage.
  std::uint64_t lineage_bytes = 256ull << 20;

  /// For a worker or head: the runtime's constructor serves the cluster until it is stopped
  /// (`weft stop`, SIGTERM, SIGINT) and then ends the process with exit status 0, so an
  /// unchanged program becomes a worker by configuration alone. Set false to construct
  /// normally and call `runtime::serve()` yourself.
  bool serve_on_start = true;

  /// These settings, with the token of default_token_path() when `token` is empty, `no_token`
  /// is false and that file exists. Throws config_error when the file is unreadable, empty,
  /// or readable by others than its owner.
  cluster_settings with_default_token() const;

  /// True when these settings make the runtime join or run a cluster.
  bool enabled() const noexcept { return !address.empty() || role != node_role::automatic; }

  /// Reads WEFT_ADDRESS, WEFT_ROLE (driver, worker, head), WEFT_LISTEN, WEFT_TOKEN or
  /// WEFT_TOKEN_FILE (a file whose first line is the token), WEFT_NO_TOKEN, WEFT_TLS_CERT,
  /// WEFT_TLS_KEY, WEFT_TLS_CA, WEFT_CLUSTER, WEFT_HEARTBEAT_MS, WEFT_HEARTBEAT_TIMEOUT_MS,
  /// WEFT_CONNECT_TIMEOUT_MS, WEFT_HEAD_RECONNECT_MS, WEFT_OFFLOAD_THRESHOLD, WEFT_MAX_FRAME_BYTES
  /// and WEFT_LINEAGE_BYTES. A malformed value throws config_error naming the variable.
  static cluster_settings from_env();

  /// Throws config_error naming the first bad field; a token of fewer than
  /// `min_token_bits` (token_bits) is refused, saying how to make a good one; the TLS paths
  /// must be all set or all empty (their files are read when the node starts).
  void validate() const;
};

/// The entropy a token must have at least, in bits.
inline constexpr double min_token_bits = 128;

/// About how many bits of entropy `token` has: its length times the bits per character of the
/// smallest alphabet that holds it (hex digits, letters, digits, punctuation), that alphabet
/// counted at most four times the characters the token really uses ("aaaa..." is weak however
/// long). 64 hex digits (`weft token generate`) have 256.
double token_bits(std::string_view token) noexcept;

/// A new token: 32 bytes from OpenSSL's random generator as 64 hex digits. Throws
/// weft::error if the generator fails.
std::string generate_token();

/// Where a cluster's token is kept when none is given: `$HOME/.weft/token` ("" when there is
/// no home directory).
std::string default_token_path();

/// Makes the default token file (mode 0600, its directory 0700) with a new token when it does
/// not exist, and returns its path. Throws config_error when it cannot.
std::string ensure_default_token();

/// A parsed `host:port`.
struct endpoint_text {
  std::string host;    ///< Name or address; never empty.
  std::uint16_t port;  ///< 0 means "the system picks" (listening only).
};

/// Parses `host:port` (an IPv6 host in brackets: `[::1]:7070`). An empty host becomes
/// `default_host`. Throws config_error naming `origin` for anything else.
endpoint_text parse_endpoint(const std::string& text, const std::string& origin,
                             const std::string& default_host = "127.0.0.1");

}  // namespace weft
