// Shared by the redis/tls_* sources only: OpenSSL headers and the error-queue rules.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

// Every OpenSSL function the redis/tls_* files call (macros such as SSL_CTX_set_mode expand to
// SSL_CTX_ctrl / SSL_ctrl), all present in OpenSSL 3.0, the oldest a supported Node ships.
#define RESPCACHE_OPENSSL_FUNCTIONS(X)                                                          \
  X(OpenSSL_version_num) X(OpenSSL_version) X(TLS_client_method) X(SSL_CTX_new)                 \
  X(SSL_CTX_free) X(SSL_CTX_ctrl) X(SSL_CTX_set_verify) X(SSL_CTX_get_cert_store)               \
  X(X509_STORE_add_cert) X(SSL_CTX_use_certificate) X(SSL_CTX_use_PrivateKey)                   \
  X(SSL_CTX_check_private_key) X(SSL_CTX_set_default_read_buffer_len) X(SSL_CTX_set_ciphersuites) X(BIO_new_mem_buf)        \
  X(BIO_free) X(PEM_read_bio_X509) X(PEM_read_bio_PrivateKey) X(X509_free) X(EVP_PKEY_free)     \
  X(ERR_clear_error) X(ERR_get_error) X(ERR_error_string_n) X(ERR_reason_error_string)          \
  X(SSL_new) X(SSL_free) X(SSL_set_fd) X(SSL_set_connect_state) X(SSL_do_handshake)             \
  X(SSL_read_ex) X(SSL_write_ex) X(SSL_get_error) X(SSL_shutdown) X(SSL_ctrl) X(SSL_set1_host)  \
  X(SSL_get0_param) X(SSL_set_cert_cb) X(X509_VERIFY_PARAM_set1_ip_asc)                        \
  X(SSL_get_verify_result) X(X509_verify_cert_error_string)

// Weak references: the addon leaves these to the process (node exports its OpenSSL), and node
// loads addons with lazy binding, so a function node lacks would only fail, fatally, when first
// called. Weak, an absent one resolves to a null address that TlsContext::Available() checks
// before any call. (dlsym would do the same but ties the addon to dlsym@GLIBC_2.34 or, pinned to
// its old version, to libdl on glibc before 2.34.) Every file that calls OpenSSL includes this
// header, so no strong reference remains (a POST_BUILD check in CMakeLists.txt makes sure).
#define RESPCACHE_PRAGMA(text) _Pragma(#text)
#define RESPCACHE_WEAK(name) RESPCACHE_PRAGMA(weak name)
RESPCACHE_OPENSSL_FUNCTIONS(RESPCACHE_WEAK)
#undef RESPCACHE_WEAK

namespace respcache::tls {

// Node's crypto and node:tls read this thread's OpenSSL error queue after their own calls, so a
// stale entry of ours would be reported as theirs. Every call of ours runs between these two:
// the queue is emptied before (an entry there is not ours to classify) and drained after.
inline void ClearErrors() { ERR_clear_error(); }

// Empties the queue, returning its first (root-cause) entry, 0 if none; `text` gets that entry's
// reason ("certificate verify failed"), when asked for.
inline unsigned long DrainErrors(std::string* text = nullptr) {
  unsigned long first = ERR_get_error();
  if (first != 0 && text) {
    const char* reason = ERR_reason_error_string(first);
    if (reason) {
      *text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(first, buf, sizeof buf);
      *text = buf;
    }
  }
  ERR_clear_error();
  return first;
}

}  // namespace respcache::tls
