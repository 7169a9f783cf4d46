// hashKey(parts) and requestKey(...): the request-key functions exported to JavaScript.
#pragma once
#include <napi.h>

namespace respcache {

// hashKey(parts: Array<string|Buffer>) -> hex SHA-256 of the length-prefixed parts.
Napi::Value HashKey(const Napi::CallbackInfo& info);
// requestKey(method, host, target, routedPath, parsedQuery, vary[]) -> hex.
Napi::Value RequestKey(const Napi::CallbackInfo& info);

}  // namespace respcache
