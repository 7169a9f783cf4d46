#include "binding/key_functions.h"

#include <string>
#include <string_view>
#include <vector>

#include "binding/js_bytes.h"
#include "core/key_parts.h"
#include "core/request_key.h"

namespace respcache {

Napi::Value HashKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "hashKey(parts) expects an array of strings or Buffers")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array a = info[0].As<Napi::Array>();
  uint32_t n = a.Length();
  ArgBytes bytes(n);
  std::vector<std::string_view> parts(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!bytes.Add(env, a.Get(i), "hashKey(parts): parts", &parts[i])) return env.Undefined();
  }
  return Napi::String::New(env, HashParts(parts));
}

// requestKey(method, host, target, routedPath: string | null, parsedQuery: string | null,
// vary: string[] flat name/value list) -> hex. Strings arrive well-formed (lib/ refuses lone
// surrogates), so UTF-8 is lossless.
Napi::Value RequestKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() ||
      !(info[3].IsString() || info[3].IsNull()) || !(info[4].IsString() || info[4].IsNull()) ||
      !info[5].IsArray()) {
    Napi::TypeError::New(env, "requestKey(method, host, target, routedPath, parsedQuery, vary[]) got bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string method = info[0].As<Napi::String>().Utf8Value();
  std::string host = info[1].As<Napi::String>().Utf8Value();
  std::string target = info[2].As<Napi::String>().Utf8Value();
  std::string routed;
  if (info[3].IsString()) routed = info[3].As<Napi::String>().Utf8Value();
  std::string query;
  if (info[4].IsString()) query = info[4].As<Napi::String>().Utf8Value();
  Napi::Array vary = info[5].As<Napi::Array>();
  uint32_t n = vary.Length();
  if (n % 2) {
    Napi::TypeError::New(env, "requestKey(): vary must be a flat list of name/value pairs")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ArgBytes bytes(n);
  RequestKeyInput input{method, host, target, std::nullopt, std::nullopt, {}};
  if (info[3].IsString()) input.routed_path = routed;
  if (info[4].IsString()) input.parsed_query = query;
  input.vary.resize(n / 2);
  for (uint32_t i = 0; i < n; i += 2) {
    if (!bytes.Add(env, vary.Get(i), "requestKey(): vary entries", &input.vary[i / 2].first) ||
        !bytes.Add(env, vary.Get(i + 1), "requestKey(): vary entries", &input.vary[i / 2].second)) {
      return env.Undefined();
    }
  }
  return Napi::String::New(env, RequestKeyHash(input));
}

}  // namespace respcache
