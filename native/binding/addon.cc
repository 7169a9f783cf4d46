// Module entry: the exports, nothing else. Only the files in native/binding/ include napi.h.
#include <napi.h>

#include <string>

#include "binding/coded_error.h"
#include "binding/entry_functions.h"
#include "binding/key_functions.h"
#include "binding/local_store_wrap.h"
#include "binding/redis_client_wrap.h"
#include "binding/redis_cluster_client_wrap.h"
#include "binding/single_flight_wrap.h"

namespace respcache {
namespace {

Napi::Value SetErrorFactoryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "setErrorFactory(fn) expects a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SetErrorFactory(env, info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactoryJs, "setErrorFactory"));
  exports.Set("RedisClient", RedisClientWrap::Define(env));
  exports.Set("RedisClusterClient", RedisClusterClientWrap::Define(env));
  exports.Set("SingleFlight", SingleFlightWrap::Define(env));
  exports.Set("LocalStore", LocalStoreWrap::Define(env));
  exports.Set("hashKey", Napi::Function::New(env, HashKey, "hashKey"));
  exports.Set("requestKey", Napi::Function::New(env, RequestKey, "requestKey"));
  exports.Set("encodeEntry", Napi::Function::New(env, EncodeEntryJs, "encodeEntry"));
  exports.Set("decodeEntryParts", Napi::Function::New(env, DecodeEntryParts, "decodeEntryParts"));
  return exports;
}

}  // namespace
}  // namespace respcache

static Napi::Object InitRespcache(Napi::Env env, Napi::Object exports) {
  return respcache::Init(env, exports);
}

NODE_API_MODULE(respcache, InitRespcache)
