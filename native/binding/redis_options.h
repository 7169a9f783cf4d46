// Options that RedisClient and RedisClusterClient read alike from JavaScript, and the error code of
// a connection failure: one reading, so the two clients accept and report exactly the same things.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "redis/failure_kind.h"
#include "redis/tls_context.h"

namespace respcache {

// Reads the normalised `tls` object the JavaScript layer builds (lib/tls-options.js validates the
// user's options; a wrong shape here is a bug there, hence a TypeError) and returns its shared
// context. `who` starts every message ("RedisClient"). Throws (returns null with an exception
// pending) on a bad shape, unusable PEMs (ERR_RESPCACHE_TLS_BAD_OPTIONS) or no usable OpenSSL
// (ERR_RESPCACHE_TLS_UNAVAILABLE).
std::shared_ptr<const TlsContext> ReadTls(Napi::Env env, Napi::Value value, const char* who);

// Reads the `preload` option (undefined, or an array of script texts) into *out. Throws a
// TypeError naming the option (returns false with an exception pending) otherwise.
bool ReadPreload(Napi::Env env, Napi::Value value, const char* who, std::vector<std::string>* out);

// The ERR_RESPCACHE_* code an 'error' event carries for a connection failure of this kind.
const char* FailureCode(FailureKind kind);

}  // namespace respcache
