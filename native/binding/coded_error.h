// Errors with a stable `code`, built by the JavaScript layer's own classes (lib/errors.js hands
// its factory over once per environment), so native rejections are instances of them.
#pragma once
#include <napi.h>

#include <string>

namespace respcache {

constexpr const char* kCodeReply = "ERR_RESPCACHE_REDIS_REPLY";
constexpr const char* kCodeTimeout = "ERR_RESPCACHE_REDIS_TIMEOUT";
constexpr const char* kCodeUnavailable = "ERR_RESPCACHE_REDIS_UNAVAILABLE";
constexpr const char* kCodeClosed = "ERR_RESPCACHE_REDIS_CLOSED";
// RedisClusterClient.commandDurable(): the master ran the write, but fewer of its replicas than
// the last topology counted confirmed it (WAIT) within the deadline; it may be lost in a failover.
constexpr const char* kCodeUnconfirmed = "ERR_RESPCACHE_REDIS_UNCONFIRMED";
// TLS to Redis. Thrown by `new RedisClient()` (configuration):
constexpr const char* kCodeTlsBadOptions = "ERR_RESPCACHE_TLS_BAD_OPTIONS";
constexpr const char* kCodeTlsUnavailable = "ERR_RESPCACHE_TLS_UNAVAILABLE";
// Emitted as the client's 'error' when a connection attempt or connection fails in TLS:
constexpr const char* kCodeTlsUnknownCa = "ERR_RESPCACHE_TLS_UNKNOWN_CA";
constexpr const char* kCodeTlsNameMismatch = "ERR_RESPCACHE_TLS_NAME_MISMATCH";
constexpr const char* kCodeTlsCertExpired = "ERR_RESPCACHE_TLS_CERT_EXPIRED";
constexpr const char* kCodeTlsClientCertRejected = "ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED";
constexpr const char* kCodeTlsHandshake = "ERR_RESPCACHE_TLS_HANDSHAKE";


// Per-environment state of the addon.
struct AddonData {
  // (code, message) -> Error: the JavaScript layer's own error classes, handed over once, so that
  // native rejections are instances of them (and of the caller's realm).
  Napi::FunctionReference error_factory;
};

void SetErrorFactory(Napi::Env env, Napi::Function factory);

// Builds a rejected-command error with a stable `code`, through the factory when one is set.
Napi::Error MakeCodedError(Napi::Env env, const char* code, const std::string& message);

}  // namespace respcache
