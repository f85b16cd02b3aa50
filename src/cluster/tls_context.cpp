// The shared TLS context of a node: TLS 1.3, mutual certificate checks against the cluster CA.

#include "tls_context.hpp"

#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>

#include "core/openssl_reason.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::openssl_reason;

void check_readable(const char* variable, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw config_error(fmt::format(
        "{}='{}' is not a file; point it at a PEM file (`weft tls init DIR` makes a set)", variable,
        path));
  }
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_tls_context(const cluster_settings& settings) {
  if (!settings.tls_enabled()) return nullptr;
  namespace ssl = boost::asio::ssl;
  check_readable("WEFT_TLS_CERT", settings.tls_cert);
  check_readable("WEFT_TLS_KEY", settings.tls_key);
  check_readable("WEFT_TLS_CA", settings.tls_ca);
  auto context = std::make_shared<ssl::context>(ssl::context::tls);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1)
    throw config_error(fmt::format("this OpenSSL cannot do TLS 1.3: {}", openssl_reason()));
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, settings.tls_cert.c_str()) != 1) {
    throw config_error(fmt::format("WEFT_TLS_CERT='{}' holds no usable PEM certificate: {}",
                                   settings.tls_cert, openssl_reason()));
  }
  const bool key_loaded =
      SSL_CTX_use_PrivateKey_file(native, settings.tls_key.c_str(), SSL_FILETYPE_PEM) == 1;
  const std::string key_problem = key_loaded ? std::string() : openssl_reason();
  if (!key_loaded && key_problem.find("mismatch") == std::string::npos) {
    throw config_error(fmt::format("WEFT_TLS_KEY='{}' holds no usable PEM private key: {}",
                                   settings.tls_key, key_problem));
  }
  if (!key_loaded || SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw config_error(fmt::format(
        "WEFT_TLS_KEY='{}' is not the private key of the certificate WEFT_TLS_CERT='{}'; give "
        "the key.pem made with that cert.pem",
        settings.tls_key, settings.tls_cert));
  }
  if (SSL_CTX_load_verify_locations(native, settings.tls_ca.c_str(), nullptr) != 1) {
    throw config_error(fmt::format("WEFT_TLS_CA='{}' holds no usable PEM certificate: {}",
                                   settings.tls_ca, openssl_reason()));
  }
  // Both ends must show a certificate that chains to the cluster CA; the CA alone decides who
  // is in the cluster (peers are reached by address, so names are not checked).
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  return context;
}

std::string describe_tls_failure(const std::string& what, long verify_result) {
  if (verify_result != X509_V_OK) {
    return fmt::format(
        "TLS: the peer's certificate was refused: {} (it must be signed by the cluster CA in "
        "WEFT_TLS_CA and be valid now)",
        X509_verify_cert_error_string(verify_result));
  }
  if (what.find("wrong version number") != std::string::npos ||
      what.find("packet length too long") != std::string::npos ||
      what.find("http request") != std::string::npos) {
    return fmt::format(
        "TLS: the peer does not speak TLS ({}): it is a node without TLS settings, or not a "
        "weft node; give every node of the cluster the same WEFT_TLS_CERT, WEFT_TLS_KEY and "
        "WEFT_TLS_CA",
        what);
  }
  if (what.find("alert") != std::string::npos) {
    return fmt::format(
        "TLS: the peer refused this node's certificate or TLS settings ({}); this node's "
        "WEFT_TLS_CERT must be signed by the CA its peers have in WEFT_TLS_CA, and be valid now",
        what);
  }
  return fmt::format("TLS: {}", what);
}

}  // namespace weft::cluster
