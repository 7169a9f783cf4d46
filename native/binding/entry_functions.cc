#include "binding/entry_functions.h"

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "binding/js_bytes.h"
#include "core/entry_codec.h"

namespace respcache {

// encodeEntry(status, headers: string[] flat, body: Buffer, storedAt, expiresAt) -> Buffer
Napi::Value EncodeEntryJs(const Napi::CallbackInfo& info) {
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
Napi::Value DecodeEntryParts(const Napi::CallbackInfo& info) {
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

}  // namespace respcache
