// One connection's TLS state: an SSL on the connection's socket (OpenSSL's socket BIO through
// SSL_set_fd, with read-ahead: no copy through memory BIOs in either direction, and WANT_READ /
// WANT_WRITE map straight onto poll events). Non-blocking: every call returns what it is waiting
// for. Failures are classified for the error code the connection reports.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "redis/failure_kind.h"
#include "redis/tls_context.h"

struct ssl_st;

namespace respcache {

class TlsSession {
 public:
  enum class Status {
    kOk,         // done (Read/Write: *n bytes moved, never 0)
    kWantRead,   // retry when the socket is readable
    kWantWrite,  // retry when the socket is writable
    kClosed,     // the peer closed (close_notify, EOF or a reset) after the handshake
    kFailed,     // a TLS failure, or the peer gone during the handshake: see failure()
  };

  // Client side on the connected socket `fd` (which the caller keeps and closes). `host` is the
  // endpoint's host: unless the context has a servername, SNI is sent for a DNS name only
  // (RFC 6066) and the certificate is checked against the name or, for an IP literal, the IP;
  // with neither (a unix socket), only the chain is verified. With verification off, SNI is
  // still sent (as node:tls does) and nothing is checked. Null (with *error) if OpenSSL cannot
  // create the session.
  static std::unique_ptr<TlsSession> Create(std::shared_ptr<const TlsContext> context, int fd,
                                            const std::string& host, std::string* error);
  ~TlsSession();  // best-effort close_notify (never blocks, never retried), then SSL_free

  Status Handshake();
  Status Read(char* buf, size_t cap, size_t* n);
  Status Write(const char* buf, size_t len, size_t* n);

  bool established() const { return established_; }
  // Why the last call returned kFailed or kClosed (kind kUnavailable for a plain disconnect).
  FailureKind failure_kind() const { return kind_; }
  const std::string& failure() const { return failure_; }
  // kClosed by a close_notify or an EOF (rather than a reset).
  bool peer_closed() const { return peer_closed_; }

 private:
  TlsSession(std::shared_ptr<const TlsContext> context, ssl_st* ssl)
      : context_(std::move(context)), ssl_(ssl) {}
  Status Fail(int ret, bool writing);

  std::shared_ptr<const TlsContext> context_;  // keeps the SSL_CTX alive as long as the SSL
  ssl_st* ssl_;
  std::string name_;  // what the certificate is checked against (for messages)
  bool established_ = false;
  bool fatal_ = false;
  bool peer_closed_ = false;  // no close_notify after a fatal error (OpenSSL forbids SSL_shutdown then)
  bool cert_requested_ = false;  // the server sent a CertificateRequest in this handshake
  FailureKind kind_ = FailureKind::kUnavailable;
  std::string failure_;
};

}  // namespace respcache
