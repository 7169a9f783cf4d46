// Module entry: the RedisClient and SingleFlight classes and thin conversions over the pure core
// (request keys, the entry codec, Redis URLs). Only this file and the *_wrap.* files include napi.h.
#include <napi.h>

#include <cmath>
#include <cstring>
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

// decodeEntryParts(bytes: Buffer, fields: ArrayBuffer(48)) -> headers string | reason string.
// `fields`, read as a Float64Array, receives [status, bodyStart, bodyEnd, storedAt, expiresAt,
// header count]; a count of -1 says the bytes are not a valid entry and the string is the reason.
// The headers come as one string, "name\nvalue\nname\nvalue" (decoding has checked that neither
// holds a LF), and lib/binding.js splits it and builds the entry, the body as
// bytes.subarray(bodyStart, bodyEnd). Everything Node-API creates or sets costs more than the
// decoding (an object with named properties, an array set element by element, a subarray call
// from here: 2.4 us for two headers), so one string is all this makes (0.3 us).
Napi::Value DecodeParts(const Napi::CallbackInfo& info) {
  constexpr size_t kFields = 6;
  napi_env env = info.Env();
  bool is_buffer = false;
  char* data = nullptr;
  size_t length = 0;
  void* fields = nullptr;
  size_t fields_length = 0;
  if (info.Length() < 2 || napi_is_buffer(env, info[0], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, info[0], reinterpret_cast<void**>(&data), &length) != napi_ok ||
      napi_get_arraybuffer_info(env, info[1], &fields, &fields_length) != napi_ok ||
      fields_length < kFields * sizeof(double)) {
    Napi::TypeError::New(env, "decodeEntryParts(bytes, fields) expects a Buffer and an ArrayBuffer of 48 bytes")
        .ThrowAsJavaScriptException();
    return Napi::Value();
  }
  auto refuse = [&](const char* reason) {
    const double refused[kFields] = {0, 0, 0, 0, 0, -1};
    std::memcpy(fields, refused, sizeof refused);
    return Napi::String::New(env, reason);
  };
  std::string_view view(data, length);
  EntryView entry;
  DecodeResult r = DecodeEntry(view, &entry);
  if (r != DecodeResult::kOk) return refuse(DecodeResultName(r));
  size_t joined_size = 0;
  for (const auto& [name, value] : entry.headers) joined_size += name.size() + value.size() + 2;
  std::string joined;
  joined.reserve(joined_size);
  for (size_t i = 0; i < entry.headers.size(); ++i) {
    if (i > 0) joined += '\n';
    joined.append(entry.headers[i].first);
    joined += '\n';
    joined.append(entry.headers[i].second);
  }
  napi_value out;
  if (napi_create_string_utf8(env, joined.data(), joined.size(), &out) != napi_ok) {
    if (Napi::Env(env).IsExceptionPending()) return Napi::Value();
    // Beyond V8's longest string (about 2^29 characters): only a planted entry gets there.
    return refuse("headers too large");
  }
  const size_t body_start = static_cast<size_t>(entry.body.data() - view.data());
  const double numbers[kFields] = {
      static_cast<double>(entry.status),
      static_cast<double>(body_start),
      static_cast<double>(body_start + entry.body.size()),
      static_cast<double>(entry.stored_at_ms),
      static_cast<double>(entry.expires_at_ms),
      static_cast<double>(entry.headers.size()),
  };
  std::memcpy(fields, numbers, sizeof numbers);
  return Napi::Value(env, out);
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
  exports.Set("decodeEntryParts", Napi::Function::New(env, DecodeParts, "decodeEntryParts"));
  exports.Set("parseRedisUrl", Napi::Function::New(env, ParseUrl, "parseRedisUrl"));
  return exports;
}

}  // namespace
}  // namespace respcache

static Napi::Object InitRespcache(Napi::Env env, Napi::Object exports) {
  return respcache::Init(env, exports);
}

NODE_API_MODULE(respcache, InitRespcache)
