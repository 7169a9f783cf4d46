// The TLS settings of a connection, parsed once: an SSL_CTX (trusted CAs, client certificate and
// key, verification mode, minimum version) shared by every connection configured alike.
//
// OpenSSL is the one inside the node binary: the addon includes Node's own openssl/ headers and
// links no libssl, so its SSL_* references bind to node at load time (the native tests link
// Debian's libssl 3.0 instead). A second OpenSSL in the process would be a second copy of
// global state beside the one node:tls uses, and a second set of CVEs to track. For the same
// reason nothing here initialises or cleans up OpenSSL (Node has run OPENSSL_init_ssl), and every
// call keeps the thread's error queue empty before and after (Node's crypto reads the same queue).
//
// This header includes no OpenSSL header: only the redis/tls_* files may (native_layers ctest).
#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;

namespace respcache {

// What the JavaScript layer hands over (already normalised; see the binding).
struct TlsConfig {
  enum class MinVersion { kTls12, kTls13 };
  std::string ca_pem;      // one or more trusted CA certificates
  std::string cert_pem;    // client certificate chain, or empty
  std::string key_pem;     // its private key, or empty (both or neither)
  std::string passphrase;  // for an encrypted key, or empty
  std::string servername;  // empty: derive SNI and the host check from the endpoint's host
  bool verify = true;      // false: no chain or host verification at all (rejectUnauthorized)
  MinVersion min_version = MinVersion::kTls12;
};

class TlsContext {
 public:
  enum class Error { kNone, kBadOptions, kUnavailable };

  // The context for `config`: the one already in use by a live connection configured identically
  // (keyed by a SHA-256 of every field, so no key material is kept in the cache), else a new one.
  // On failure returns null with *error and *message set (the message names the option at fault).
  static std::shared_ptr<const TlsContext> Get(const TlsConfig& config, Error* error,
                                               std::string* message);
  // Whether this process has an OpenSSL 3 the library can use: every function it calls is
  // present (the addon is loaded lazily, so a missing one would only fail, fatally, when called)
  // and OpenSSL_version_num() says 3.x. Checked once; Get() fails with kUnavailable otherwise.
  static bool Available(std::string* why);

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ~TlsContext();

  ssl_ctx_st* ssl_ctx() const { return ctx_; }
  const std::string& servername() const { return servername_; }
  bool verify() const { return verify_; }

 private:
  TlsContext(ssl_ctx_st* ctx, std::string servername, bool verify)
      : ctx_(ctx), servername_(std::move(servername)), verify_(verify) {}

  ssl_ctx_st* ctx_;
  std::string servername_;
  bool verify_;
};

}  // namespace respcache
