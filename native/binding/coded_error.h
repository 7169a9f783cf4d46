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
