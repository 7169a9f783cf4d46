#include "redis/tls_context.h"

#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include "core/sha256.h"
#include "redis/tls_openssl.h"

namespace respcache {
namespace {

using tls::ClearErrors;
using tls::DrainErrors;

bool CheckAvailable(std::string* why) {
  // Weak references (tls_openssl.h): null when the process has no such function.
  const char* missing = nullptr;
#define RESPCACHE_CHECK(name) \
  if (!missing && reinterpret_cast<const void*>(&name) == nullptr) missing = #name;
  RESPCACHE_OPENSSL_FUNCTIONS(RESPCACHE_CHECK)
#undef RESPCACHE_CHECK
  if (missing) {
    *why = std::string("this Node has no OpenSSL the addon can use (") + missing + " is missing)";
    return false;
  }
  unsigned long version = OpenSSL_version_num();
  if (version < 0x30000000UL) {
    *why = std::string("this Node's OpenSSL is ") + OpenSSL_version(OPENSSL_VERSION) +
           "; TLS to Redis needs OpenSSL 3";
    return false;
  }
  return true;
}

int PassphraseCallback(char* buf, int size, int, void* user) {
  // Always installed: without it OpenSSL would prompt on the terminal for an encrypted key.
  const std::string& pass = *static_cast<const std::string*>(user);
  if (pass.empty() || pass.size() > static_cast<size_t>(size)) return 0;
  std::memcpy(buf, pass.data(), pass.size());
  return static_cast<int>(pass.size());
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Reads every certificate of `pem`, calling `take` with each (which owns it afterwards). Returns
// the count, or -1 when a PEM block is malformed (the end of the text is not an error).
template <typename Take>
int ReadCertificates(const std::string& pem, Take take) {
  BioPtr bio = MemBio(pem);
  if (!bio) return -1;
  int count = 0;
  for (;;) {
    ClearErrors();
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!x) {
      unsigned long e = DrainErrors();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) return count;
      return -1;
    }
    ++count;
    if (!take(x)) return -1;
  }
}

std::string CacheKey(const TlsConfig& c) {
  Sha256 h;
  for (const std::string* s : {&c.ca_pem, &c.cert_pem, &c.key_pem, &c.passphrase, &c.servername}) {
    uint64_t n = s->size();
    h.Update(&n, sizeof n);
    h.Update(*s);
  }
  char flags[2] = {static_cast<char>(c.verify), static_cast<char>(c.min_version)};
  h.Update(flags, sizeof flags);
  return Sha256::Hex(h.Final());
}

std::shared_ptr<const TlsContext> Fail(TlsContext::Error kind, std::string text,
                                       TlsContext::Error* error, std::string* message) {
  *error = kind;
  *message = std::move(text);
  return nullptr;
}

}  // namespace

bool TlsContext::Available(std::string* why) {
  // A function-local static, not std::call_once: that would need pthread_once@GLIBC_2.34 and
  // raise the glibc the addon needs.
  struct Check {
    bool ok;
    std::string reason;
    Check() { ok = CheckAvailable(&reason); }
  };
  static const Check check;
  if (!check.ok && why) *why = check.reason;
  return check.ok;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<const TlsContext> TlsContext::Get(const TlsConfig& config, Error* error,
                                                  std::string* message) {
  *error = Error::kNone;
  std::string why;
  if (!Available(&why)) return Fail(Error::kUnavailable, why, error, message);

  // Worker threads share the cache; a context is freed with its last connection.
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const TlsContext>> cache;
  const std::string key = CacheKey(config);
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = cache.begin(); it != cache.end();) {
    it = it->second.expired() ? cache.erase(it) : std::next(it);
  }
  auto found = cache.find(key);
  if (found != cache.end()) {
    if (auto shared = found->second.lock()) return shared;
  }

  if (config.cert_pem.empty() != config.key_pem.empty()) {
    return Fail(Error::kBadOptions, "tls.cert and tls.key must be given together", error, message);
  }
  ClearErrors();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (!raw) {
    DrainErrors(&why);
    return Fail(Error::kUnavailable, "could not create a TLS context: " + why, error, message);
  }
  std::shared_ptr<const TlsContext> context(
      new TlsContext(raw, config.servername, config.verify));
  // Partial writes with a moving buffer: hiredis's output buffer is written as far as the socket
  // takes it, and may be reallocated (its front bytes unchanged) before the write is retried.
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read-ahead with a 64 KiB buffer: one read() takes several records, not two reads per record.
  SSL_CTX_set_read_ahead(raw, 1);
  SSL_CTX_set_default_read_buffer_len(raw, 64 * 1024);
  SSL_CTX_set_min_proto_version(raw, config.min_version == TlsConfig::MinVersion::kTls13
                                         ? TLS1_3_VERSION
                                         : TLS1_2_VERSION);
  SSL_CTX_set_verify(raw, config.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // TLS 1.3: AES-128-GCM first (the suite RFC 8446 makes mandatory; Redis follows the client's
  // order unless tls-prefer-server-ciphers is set). Cache entries are bulk data: AES-128-GCM
  // encrypts and decrypts them about 1.4x faster than OpenSSL's default first choice,
  // AES-256-GCM, on both ends of the connection (measured in npm run bench).
  SSL_CTX_set_ciphersuites(raw, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  DrainErrors();

  X509_STORE* store = SSL_CTX_get_cert_store(raw);
  int cas = ReadCertificates(config.ca_pem, [&](X509* x) {
    ClearErrors();
    X509_STORE_add_cert(store, x);  // a duplicate is not an error worth failing for
    DrainErrors();
    X509_free(x);
    return true;
  });
  if (cas < 0) return Fail(Error::kBadOptions, "tls.ca is not valid PEM", error, message);
  if (cas == 0) {
    return Fail(Error::kBadOptions, "tls.ca holds no PEM certificate", error, message);
  }

  if (!config.cert_pem.empty()) {
    bool first = true;
    bool ok = true;
    int certs = ReadCertificates(config.cert_pem, [&](X509* x) {
      ClearErrors();
      // The first certificate is ours; the rest are intermediates sent along with it.
      if (first) {
        ok = SSL_CTX_use_certificate(raw, x) == 1;
        X509_free(x);
      } else if (SSL_CTX_add0_chain_cert(raw, x) != 1) {
        ok = false;
        X509_free(x);
      }
      DrainErrors();
      first = false;
      return ok;
    });
    if (certs <= 0 || !ok) {
      return Fail(Error::kBadOptions, "tls.cert is not a valid PEM certificate chain", error,
                  message);
    }
    BioPtr bio = MemBio(config.key_pem);
    ClearErrors();
    EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, PassphraseCallback,
                                                   const_cast<std::string*>(&config.passphrase))
                         : nullptr;
    if (!pkey) {
      DrainErrors(&why);
      const bool encrypted = config.key_pem.find("ENCRYPTED") != std::string::npos;
      return Fail(Error::kBadOptions,
                  encrypted ? (config.passphrase.empty()
                                   ? "tls.key is encrypted and no tls.passphrase was given"
                                   : "tls.passphrase does not decrypt tls.key")
                            : "tls.key is not a valid PEM private key (" + why + ")",
                  error, message);
    }
    ok = SSL_CTX_use_PrivateKey(raw, pkey) == 1 && SSL_CTX_check_private_key(raw) == 1;
    EVP_PKEY_free(pkey);
    DrainErrors();
    if (!ok) return Fail(Error::kBadOptions, "tls.key does not match tls.cert", error, message);
  }
  cache[key] = context;
  return context;
}

}  // namespace respcache
