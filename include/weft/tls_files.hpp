#pragma once
/// \file
/// Making the PEM files a cluster's mutual TLS needs (what `weft tls init` and `weft tls issue`
/// do): a cluster CA and node certificates it signs. For a quick start and for tests; a site
/// with its own PKI points WEFT_TLS_CERT, WEFT_TLS_KEY and WEFT_TLS_CA at its own files.

#include <chrono>
#include <filesystem>
#include <string>

namespace weft {

/// How a node certificate is made.
struct tls_files_options {
  /// The certificate's subject common name (peers do not check it: a certificate signed by the
  /// cluster's CA is what admits a node).
  std::string common_name = "weft node";
  /// How long the node certificate is valid (the CA made with it: ten times as long).
  std::chrono::seconds valid_for = std::chrono::hours(24 * 365);
  /// When its validity starts, from now; negative is in the past (tests make expired ones).
  std::chrono::seconds starts_in{0};
};

/// The files of one TLS set, all in one directory.
struct tls_files {
  std::filesystem::path ca;      ///< ca.pem: the cluster CA's certificate (WEFT_TLS_CA).
  std::filesystem::path ca_key;  ///< ca-key.pem, mode 0600: the CA's key, to issue more.
  std::filesystem::path cert;    ///< cert.pem: the node's certificate (WEFT_TLS_CERT).
  std::filesystem::path key;     ///< key.pem, mode 0600: the node's key (WEFT_TLS_KEY).
};

/// Creates `dir` (mode 0700) when missing and writes a new cluster CA (ca.pem, ca-key.pem) and
/// a node certificate it signed (cert.pem, key.pem), with P-256 keys. Throws weft::error
/// naming the file when one exists already (nothing is overwritten) or cannot be written.
tls_files make_tls_files(const std::filesystem::path& dir, const tls_files_options& options = {});

/// Writes a new node certificate (cert.pem, key.pem) into `dir`, signed by the CA whose
/// ca.pem and ca-key.pem are in `ca_dir`, and a copy of ca.pem; the returned ca_key is the
/// one in `ca_dir`. Throws weft::error naming the file that is missing, unreadable or there.
tls_files issue_tls_certificate(const std::filesystem::path& ca_dir,
                                const std::filesystem::path& dir,
                                const tls_files_options& options = {});

}  // namespace weft
