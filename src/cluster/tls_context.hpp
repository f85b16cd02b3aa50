#pragma once
// The OpenSSL context a node's connections share when the cluster runs over TLS
// (cluster_settings::tls_cert, tls_key, tls_ca): TLS 1.3 only, this node's certificate and
// key, and its peers' certificates verified against the cluster CA in both directions.

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "weft/cluster_settings.hpp"

namespace weft::cluster {

/// The context for `settings`, or null when TLS is off. Throws config_error naming the
/// setting and the file when one cannot be read, is not PEM, or the key is not the
/// certificate's.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const cluster_settings& settings);

/// Why a TLS handshake or read failed, said for a person: `what` from Asio, and the verify
/// result of the peer's certificate when it was refused (`verify_result` is
/// SSL_get_verify_result, X509_V_OK when it was not checked or passed).
std::string describe_tls_failure(const std::string& what, long verify_result);

}  // namespace weft::cluster
