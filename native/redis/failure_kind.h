// Why a connection attempt failed or a connection was lost, as far as the caller needs to tell
// causes apart: the binding turns each kind into its error code.
#pragma once

namespace respcache {

enum class FailureKind {
  kUnavailable,             // refused, reset, closed, timed out, refused by Redis: not TLS's doing
  kTlsHandshake,            // any other TLS failure (not TLS on that port, protocol version, EOF or
                            // a timeout inside the TLS handshake, a broken record later)
  kTlsUnknownCa,            // the server's chain does not lead to a trusted CA
  kTlsNameMismatch,         // the certificate is not for the host name (or IP) we connected to
  kTlsCertExpired,          // the server's certificate has expired or is not valid yet
  kTlsClientCertRejected,   // the server refused our client certificate (or its absence)
};

}  // namespace respcache
