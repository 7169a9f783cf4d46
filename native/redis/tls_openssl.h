// Shared by the redis/tls_* sources only: OpenSSL headers and the error-queue rules.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

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
