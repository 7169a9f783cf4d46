// What RedisClient and RedisClusterClient read alike from JavaScript (their options, and the
// arguments of their command methods) and the error code of a connection failure: one reading,
// so the two clients accept and report exactly the same things.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
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

// A duration option in ms: `fallback` when it is undefined, else the number if it is 1..86400000,
// else 0 (the caller throws a RangeError naming its options).
uint32_t OptionalMs(const Napi::Object& o, const char* name, uint32_t fallback);

// The ERR_RESPCACHE_* code an 'error' event carries for a connection failure of this kind.
const char* FailureCode(FailureKind kind);

// Whether data[0..len) is the command name `word`, ignoring case.
bool NameIs(const char* data, size_t len, const char* word);

// Commands that switch a connection into a mode where replies stop pairing one-to-one with
// commands (pub/sub, MONITOR): hiredis 0.14, or the clients' per-command bookkeeping on a
// pipelined connection, would then hand replies to the wrong callbacks.
bool IsModeCommand(const char* data, size_t len);

// A command's arguments as hiredis takes them. Buffers are used in place (they stay put during
// the synchronous call, and the clients copy argv before returning); strings and numbers are
// UTF-8 copies owned here.
struct CommandArgv {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  std::vector<std::string> strings;
};

// `what` below names the method in messages ("command()").
// The argv array: throws a TypeError (returns false) unless `value` is a non-empty array.
bool ReadCommandArray(Napi::Env env, Napi::Value value, const char* what, Napi::Array* out);
// Fills *out from the array's elements; throws a TypeError (returns false) at the first that is
// not a string, a number or a Buffer.
bool ReadCommandArgv(Napi::Env env, const Napi::Array& args, const char* what, CommandArgv* out);
// The timeoutMs argument info[i]: undefined or absent -> 0 (the client's commandTimeout), else a
// number 1..86400000; throws a RangeError (returns false) otherwise.
bool ReadTimeout(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* what,
                 uint32_t* out);

}  // namespace respcache
