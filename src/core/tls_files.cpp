// A cluster CA and the node certificates it signs, made with OpenSSL's X509 API.

#include "weft/tls_files.hpp"

#include <fmt/core.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "openssl_reason.hpp"
#include "weft/errors.hpp"

namespace weft {
namespace {

struct free_key {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct free_cert {
  void operator()(X509* c) const { X509_free(c); }
};
struct free_bio {
  void operator()(BIO* b) const { BIO_free(b); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, free_key>;
using cert_ptr = std::unique_ptr<X509, free_cert>;
using bio_ptr = std::unique_ptr<BIO, free_bio>;

using detail::openssl_reason;

[[noreturn]] void fail(const std::string& what) {
  throw error(fmt::format("cannot make the TLS files: {} ({})", what, openssl_reason()));
}

key_ptr new_key() {
  key_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("making a P-256 key failed");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (ext == nullptr) fail(fmt::format("making the extension '{}' failed", value));
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) fail(fmt::format("adding the extension '{}' failed", value));
}

// A certificate for `key` named `common_name`, signed by `issuer_key` (and `issuer`, or
// itself when null).
cert_ptr new_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                         EVP_PKEY* issuer_key, std::chrono::seconds starts_in,
                         std::chrono::seconds valid_for, bool is_ca) {
  cert_ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) fail("making a certificate failed");
  {
    std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
    if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
      fail("making a serial number failed");
    }
  }
  if (X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, static_cast<long>(starts_in.count()),
                       nullptr) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0,
                       static_cast<long>((starts_in + valid_for).count()), nullptr) == nullptr) {
    fail("setting the validity failed");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("weft"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    fail(fmt::format("the name '{}' was not accepted", common_name));
  }
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    fail("setting the issuer or the key failed");
  }
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (is_ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    add_extension(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) fail("signing failed");
  return cert;
}

// Writes `text` to a new file `path` with `mode`; never replaces an existing one.
void write_new_file(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    const int code = errno;
    throw error(fmt::format("cannot write '{}': {}{}", path.string(), std::strerror(code),
                            code == EEXIST ? " (remove it first, or pick another directory)" : ""));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int code = errno;
      ::close(fd);
      throw error(fmt::format("cannot write '{}': {}", path.string(), std::strerror(code)));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

std::string pem_of(X509* cert) {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert) != 1) fail("writing a certificate failed");
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string pem_of(EVP_PKEY* key) {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("writing a key failed");
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw error(fmt::format("cannot read '{}': {}", path.string(),
                            std::filesystem::exists(path) ? "permission denied" : "no such file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void make_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec)
    throw error(fmt::format("cannot create the directory '{}': {}", dir.string(), ec.message()));
}

// Writes a node certificate for a new key, signed by `ca` and `ca_key`, into `dir`.
void write_node_files(const std::filesystem::path& dir, X509* ca, EVP_PKEY* ca_key,
                      const tls_files_options& options, tls_files& files) {
  key_ptr key = new_key();
  cert_ptr cert = new_certificate(key.get(), options.common_name, ca, ca_key, options.starts_in,
                                  options.valid_for, false);
  files.cert = dir / "cert.pem";
  files.key = dir / "key.pem";
  write_new_file(files.key, pem_of(key.get()), 0600);
  write_new_file(files.cert, pem_of(cert.get()), 0644);
}

}  // namespace

tls_files make_tls_files(const std::filesystem::path& dir, const tls_files_options& options) {
  make_directory(dir);
  tls_files files;
  files.ca = dir / "ca.pem";
  files.ca_key = dir / "ca-key.pem";
  for (const auto& name : {"ca.pem", "ca-key.pem", "cert.pem", "key.pem"}) {
    if (std::filesystem::exists(dir / name)) {
      throw error(
          fmt::format("cannot make the TLS files: '{}' exists already (remove it first, "
                      "or pick another directory)",
                      (dir / name).string()));
    }
  }
  key_ptr ca_key = new_key();
  cert_ptr ca = new_certificate(ca_key.get(), "weft cluster CA", nullptr, ca_key.get(),
                                std::min(options.starts_in, std::chrono::seconds(0)),
                                10 * options.valid_for, true);
  write_new_file(files.ca_key, pem_of(ca_key.get()), 0600);
  write_new_file(files.ca, pem_of(ca.get()), 0644);
  write_node_files(dir, ca.get(), ca_key.get(), options, files);
  return files;
}

tls_files issue_tls_certificate(const std::filesystem::path& ca_dir,
                                const std::filesystem::path& dir,
                                const tls_files_options& options) {
  tls_files files;
  files.ca_key = ca_dir / "ca-key.pem";
  const std::string ca_text = read_file(ca_dir / "ca.pem");
  const std::string ca_key_text = read_file(files.ca_key);
  bio_ptr ca_in(BIO_new_mem_buf(ca_text.data(), static_cast<int>(ca_text.size())));
  cert_ptr ca(PEM_read_bio_X509(ca_in.get(), nullptr, nullptr, nullptr));
  if (!ca) fail(fmt::format("'{}' holds no PEM certificate", (ca_dir / "ca.pem").string()));
  bio_ptr key_in(BIO_new_mem_buf(ca_key_text.data(), static_cast<int>(ca_key_text.size())));
  key_ptr ca_key(PEM_read_bio_PrivateKey(key_in.get(), nullptr, nullptr, nullptr));
  if (!ca_key) fail(fmt::format("'{}' holds no PEM private key", files.ca_key.string()));
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1)
    fail(fmt::format("'{}' is not the key of '{}'", files.ca_key.string(),
                     (ca_dir / "ca.pem").string()));
  make_directory(dir);
  files.ca = dir / "ca.pem";
  std::error_code ec;
  if (!std::filesystem::equivalent(dir, ca_dir, ec)) write_new_file(files.ca, ca_text, 0644);
  write_node_files(dir, ca.get(), ca_key.get(), options, files);
  return files;
}

}  // namespace weft
