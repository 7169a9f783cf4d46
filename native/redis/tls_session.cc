#include "redis/tls_session.h"

#include <arpa/inet.h>
#include <errno.h>

#include <cstring>
#include <utility>

#include "redis/ip_literal.h"
#include "redis/tls_openssl.h"

namespace respcache {
namespace {

using tls::ClearErrors;
using tls::DrainErrors;

FailureKind VerifyFailureKind(long result) {
  switch (result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return FailureKind::kTlsCertExpired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return FailureKind::kTlsNameMismatch;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return FailureKind::kTlsUnknownCa;
    default:
      return FailureKind::kTlsHandshake;
  }
}

// Alerts by which a server refuses the client's certificate, or its absence: "certificate
// required" (TLS 1.3, on the client's first read after its handshake completed) and those an
// OpenSSL server sends during a TLS 1.2 handshake.
bool IsClientCertAlert(int reason) {
  switch (reason) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::unique_ptr<TlsSession> TlsSession::Create(std::shared_ptr<const TlsContext> context, int fd,
                                               const std::string& host, std::string* error) {
  ClearErrors();
  SSL* ssl = SSL_new(context->ssl_ctx());
  if (!ssl) {
    DrainErrors(error);
    *error = "could not create a TLS session: " + *error;
    return nullptr;
  }
  std::unique_ptr<TlsSession> session(new TlsSession(context, ssl));
  bool ok = SSL_set_fd(ssl, fd) == 1;  // BIO_NOCLOSE: hiredis closes the socket
  SSL_set_connect_state(ssl);
  // Called by OpenSSL only when the server asks for a client certificate (a CertificateRequest).
  SSL_set_cert_cb(ssl, [](SSL*, void* arg) {
    static_cast<TlsSession*>(arg)->cert_requested_ = true;
    return 1;
  }, session.get());
  const std::string& name = context->servername().empty() ? host : context->servername();
  session->name_ = name;
  if (ok && !name.empty()) {
    const bool ip = IsIpLiteral(name);
    if (!ip) ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
    if (ok && context->verify()) {
      ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
              : SSL_set1_host(ssl, name.c_str()) == 1;
    }
  }
  std::string why;
  DrainErrors(&why);
  if (!ok) {
    *error = "could not set up TLS for " + name + (why.empty() ? "" : ": " + why);
    return nullptr;
  }
  return session;
}

TlsSession::~TlsSession() {
  ClearErrors();
  // One non-blocking close_notify; a full bidirectional shutdown would need more loop turns for
  // nothing (the socket is closed right after).
  if (established_ && !fatal_) SSL_shutdown(ssl_);
  SSL_free(ssl_);
  DrainErrors();
}

TlsSession::Status TlsSession::Handshake() {
  ClearErrors();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    DrainErrors();
    return Status::kOk;
  }
  return Fail(r, false);
}

TlsSession::Status TlsSession::Read(char* buf, size_t cap, size_t* n) {
  ClearErrors();
  const int r = SSL_read_ex(ssl_, buf, cap, n);
  if (r == 1) {
    DrainErrors();
    return Status::kOk;
  }
  return Fail(r, false);
}

TlsSession::Status TlsSession::Write(const char* buf, size_t len, size_t* n) {
  ClearErrors();
  const int r = SSL_write_ex(ssl_, buf, len, n);
  if (r == 1) {
    DrainErrors();
    return Status::kOk;
  }
  return Fail(r, true);
}

TlsSession::Status TlsSession::Fail(int ret, bool writing) {
  const int saved_errno = errno;
  const int kind = SSL_get_error(ssl_, ret);  // reads the error queue: before draining it
  std::string reason_text;
  const unsigned long e = DrainErrors(&reason_text);
  if (kind == SSL_ERROR_WANT_READ) return Status::kWantRead;
  if (kind == SSL_ERROR_WANT_WRITE) return Status::kWantWrite;

  const int reason = ERR_GET_REASON(e);
  const bool eof = kind == SSL_ERROR_ZERO_RETURN ||
                   (kind == SSL_ERROR_SYSCALL && e == 0 && saved_errno == 0) ||
                   (kind == SSL_ERROR_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (kind != SSL_ERROR_ZERO_RETURN) fatal_ = true;
  if (kind == SSL_ERROR_ZERO_RETURN || kind == SSL_ERROR_SYSCALL || eof) {
    std::string cause = eof ? "Server closed the connection"
                            : std::strerror(saved_errno ? saved_errno : EIO);
    if (!established_) {
      kind_ = FailureKind::kTlsHandshake;
      failure_ = eof ? "the server closed the connection during the TLS handshake"
                     : cause + " during the TLS handshake";
      return Status::kFailed;
    }
    kind_ = FailureKind::kUnavailable;
    failure_ = std::move(cause);
    peer_closed_ = eof;
    return Status::kClosed;
  }
  // SSL_ERROR_SSL: a protocol failure, a failed verification or an alert from the server.
  // With verification off the result may hold a failure that was ignored: never report it.
  if (!established_ && context_->verify()) {
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      kind_ = VerifyFailureKind(verify);
      failure_ = X509_verify_cert_error_string(verify);
      if (kind_ == FailureKind::kTlsNameMismatch) {
        failure_ += " (the certificate is not for " + name_ + ")";
      }
      return Status::kFailed;
    }
  }
  if (reason_text.empty()) reason_text = writing ? "TLS write failed" : "TLS failure";
  if (IsClientCertAlert(reason) && cert_requested_) {
    kind_ = FailureKind::kTlsClientCertRejected;
    failure_ = "the server rejected the client certificate (" + reason_text + ")";
    return Status::kFailed;
  }
  kind_ = FailureKind::kTlsHandshake;
  failure_ = reason_text;
  if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
      reason == SSL_R_HTTP_REQUEST) {
    failure_ += " (the server does not speak TLS on this port?)";
  }
  return Status::kFailed;
}

}  // namespace respcache
