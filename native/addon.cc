// Module entry: the RedisClient and SingleFlight classes and thin conversions over the pure core
// (request keys, the entry codec, Redis URLs). Only this file and the *_wrap.* files include napi.h.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "entry_codec.h"
#include "local_store_wrap.h"
#include "redis_client_wrap.h"
#include "redis_url.h"
#include "request_key.h"
#include "single_flight_wrap.h"

namespace respcache {
namespace {

// Holds the bytes behind string_views for the duration of one call: strings are converted to
// UTF-8 copies, Buffers are viewed in place.
class ArgBytes {
 public:
  explicit ArgBytes(size_t n) { strings_.reserve(n); }
  // Returns false (with a pending TypeError) when v is neither a string nor a Buffer.
  bool Add(Napi::Env env, const Napi::Value& v, const char* what, std::string_view* out) {
    if (v.IsBuffer()) {
      auto b = v.As<Napi::Buffer<char>>();
      *out = std::string_view(b.Data(), b.Length());
      return true;
    }
    if (v.IsString()) {
      strings_.push_back(v.As<Napi::String>().Utf8Value());
      *out = strings_.back();
      return true;
    }
    Napi::TypeError::New(env, std::string(what) + " must be strings or Buffers")
        .ThrowAsJavaScriptException();
    return false;
  }

 private:
  std::vector<std::string> strings_;
};

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

// requestKey(method, host, path, query, vary: string[] flat name/value list) -> hex
Napi::Value RequestKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() ||
      !info[3].IsString() || !info[4].IsArray()) {
    Napi::TypeError::New(env, "requestKey(method, host, path, query, vary[]) got bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string method = info[0].As<Napi::String>().Utf8Value();
  std::string host = info[1].As<Napi::String>().Utf8Value();
  std::string path = info[2].As<Napi::String>().Utf8Value();
  std::string query = info[3].As<Napi::String>().Utf8Value();
  Napi::Array vary = info[4].As<Napi::Array>();
  uint32_t n = vary.Length();
  if (n % 2) {
    Napi::TypeError::New(env, "requestKey(): vary must be a flat list of name/value pairs")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ArgBytes bytes(n);
  RequestKeyInput input{method, host, path, query, {}};
  input.vary.resize(n / 2);
  for (uint32_t i = 0; i < n; i += 2) {
    if (!bytes.Add(env, vary.Get(i), "requestKey(): vary entries", &input.vary[i / 2].first) ||
        !bytes.Add(env, vary.Get(i + 1), "requestKey(): vary entries", &input.vary[i / 2].second)) {
      return env.Undefined();
    }
  }
  return Napi::String::New(env, RequestKeyHash(input));
}

// encodeEntry(status, headers: string[] flat, body: Buffer, storedAt, expiresAt) -> Buffer
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsArray() || !info[3].IsNumber() ||
      !info[4].IsNumber() || !(info[2].IsBuffer() || info[2].IsUndefined() || info[2].IsNull())) {
    Napi::TypeError::New(env, "encodeEntry(status, headers[], body, storedAt, expiresAt) got bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EntryView entry;
  double status = info[0].As<Napi::Number>().DoubleValue();
  double stored_at = info[3].As<Napi::Number>().DoubleValue();
  double expires_at = info[4].As<Napi::Number>().DoubleValue();
  // 2^53: beyond it a JavaScript number no longer holds every integer, and casting a larger
  // double to int64 would be undefined behaviour.
  constexpr double kMaxSafe = 9007199254740991.0;
  if (!(status >= 100 && status <= 999) || std::floor(status) != status ||
      !(std::fabs(stored_at) <= kMaxSafe) || !(std::fabs(expires_at) <= kMaxSafe)) {
    Napi::RangeError::New(env, "encodeEntry(): status must be an integer 100..999 and the times "
                               "finite integers of milliseconds")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  entry.status = static_cast<uint16_t>(status);
  entry.stored_at_ms = static_cast<int64_t>(stored_at);
  entry.expires_at_ms = static_cast<int64_t>(expires_at);
  Napi::Array headers = info[1].As<Napi::Array>();
  uint32_t n = headers.Length();
  if (n % 2) {
    Napi::TypeError::New(env, "encodeEntry(): headers must be a flat list of name/value pairs")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ArgBytes bytes(n);
  entry.headers.resize(n / 2);
  for (uint32_t i = 0; i < n; i += 2) {
    if (!bytes.Add(env, headers.Get(i), "encodeEntry(): headers", &entry.headers[i / 2].first) ||
        !bytes.Add(env, headers.Get(i + 1), "encodeEntry(): headers", &entry.headers[i / 2].second)) {
      return env.Undefined();
    }
  }
  if (info[2].IsBuffer()) {
    auto b = info[2].As<Napi::Buffer<char>>();
    entry.body = std::string_view(b.Data(), b.Length());
  }
  std::string out;
  if (!EncodeEntry(entry, &out)) {
    Napi::RangeError::New(env, "encodeEntry(): the response cannot be stored (status, header "
                               "bytes or sizes out of range)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

// decodeEntry(bytes: Buffer) -> { status, headers, body, storedAt, expiresAt } | reason string
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "decodeEntry(bytes) expects a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto bytes = info[0].As<Napi::Buffer<char>>();
  std::string_view view(bytes.Data(), bytes.Length());
  EntryView entry;
  DecodeResult r = DecodeEntry(view, &entry);
  if (r != DecodeResult::kOk) return Napi::String::New(env, DecodeResultName(r));
  Napi::Object out = Napi::Object::New(env);
  out.Set("status", Napi::Number::New(env, entry.status));
  Napi::Array headers = Napi::Array::New(env, entry.headers.size() * 2);
  uint32_t i = 0;
  for (const auto& h : entry.headers) {
    headers.Set(i++, Napi::String::New(env, h.first.data(), h.first.size()));
    headers.Set(i++, Napi::String::New(env, h.second.data(), h.second.size()));
  }
  out.Set("headers", headers);
  // The body is a view into the stored bytes, not a copy.
  size_t start = static_cast<size_t>(entry.body.data() - view.data());
  Napi::Function subarray = bytes.Get("subarray").As<Napi::Function>();
  out.Set("body", subarray.Call(bytes, {Napi::Number::New(env, static_cast<double>(start)),
                                        Napi::Number::New(env, static_cast<double>(start + entry.body.size()))}));
  out.Set("storedAt", Napi::Number::New(env, static_cast<double>(entry.stored_at_ms)));
  out.Set("expiresAt", Napi::Number::New(env, static_cast<double>(entry.expires_at_ms)));
  return out;
}

Napi::Value ParseUrl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "parseRedisUrl(url) expects a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string url = info[0].As<Napi::String>().Utf8Value();
  RedisEndpoint e;
  std::string error;
  if (!ParseRedisUrl(url, &e, &error)) {
    Napi::TypeError::New(env, "Invalid Redis URL: " + error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("host", e.host);
  out.Set("port", e.port);
  out.Set("path", e.path);
  out.Set("username", e.username);
  out.Set("password", e.password);
  out.Set("db", e.db);
  return out;
}

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
  exports.Set("SingleFlight", SingleFlightWrap::Define(env));
  exports.Set("LocalStore", LocalStoreWrap::Define(env));
  exports.Set("hashKey", Napi::Function::New(env, HashKey, "hashKey"));
  exports.Set("requestKey", Napi::Function::New(env, RequestKey, "requestKey"));
  exports.Set("encodeEntry", Napi::Function::New(env, Encode, "encodeEntry"));
  exports.Set("decodeEntry", Napi::Function::New(env, Decode, "decodeEntry"));
  exports.Set("parseRedisUrl", Napi::Function::New(env, ParseUrl, "parseRedisUrl"));
  return exports;
}

}  // namespace
}  // namespace respcache

static Napi::Object InitRespcache(Napi::Env env, Napi::Object exports) {
  return respcache::Init(env, exports);
}

NODE_API_MODULE(respcache, InitRespcache)
