#include "binding/entry_functions.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binding/js_bytes.h"
#include "core/entry_codec.h"

namespace respcache {

namespace {

// 2^53: beyond it a JavaScript number no longer holds every integer, and casting a larger
// double to int64 would be undefined behaviour.
constexpr double kMaxSafe = 9007199254740991.0;

// The bytes behind an EntryMeta's views for one encodeEntry call.
struct MetaStrings {
  std::string ns, value_type, route, etag;
  std::vector<std::string> vary;
};

bool Fail(Napi::Env env, bool range, const std::string& message) {
  if (range) {
    Napi::RangeError::New(env, "encodeEntry(): " + message).ThrowAsJavaScriptException();
  } else {
    Napi::TypeError::New(env, "encodeEntry(): " + message).ThrowAsJavaScriptException();
  }
  return false;
}

// An optional string field: undefined and null mean absent.
bool OptionalString(Napi::Env env, const Napi::Object& o, const char* name, std::string* storage,
                    std::optional<std::string_view>* out) {
  Napi::Value v = o.Get(name);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsString()) return Fail(env, false, std::string("meta.") + name + " must be a string");
  *storage = v.As<Napi::String>().Utf8Value();
  *out = *storage;
  return true;
}

// Reads encodeEntry's optional meta argument into *meta (views into *strings). Throws a TypeError
// for a value of the wrong type and a RangeError for one out of range, naming the field.
bool ReadMeta(Napi::Env env, const Napi::Value& arg, MetaStrings* strings, EntryMeta* meta) {
  if (arg.IsUndefined() || arg.IsNull()) return true;
  if (!arg.IsObject() || arg.IsArray() || arg.IsFunction()) {
    return Fail(env, false, "meta must be an object");
  }
  Napi::Object o = arg.As<Napi::Object>();
  // A misspelt field would otherwise be dropped without a word.
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0, n = keys.Length(); i < n; ++i) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    if (key != "kind" && key != "ns" && key != "valueType" && key != "vary" && key != "gzip" &&
        key != "route" && key != "flags") {
      return Fail(env, false, "meta has an unknown field \"" + key.substr(0, 64) +
                                  "\" (expected kind, ns, valueType, vary, gzip, route or flags)");
    }
  }
  Napi::Value kind = o.Get("kind");
  if (!kind.IsUndefined()) {
    std::string k = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : std::string();
    if (k == "response") {
      meta->kind = EntryKind::kResponse;
    } else if (k == "value") {
      meta->kind = EntryKind::kValue;
    } else if (k == "vary") {
      meta->kind = EntryKind::kVary;
    } else {
      return Fail(env, false, "meta.kind must be 'response', 'value' or 'vary'");
    }
  }
  if (!OptionalString(env, o, "ns", &strings->ns, &meta->ns) ||
      !OptionalString(env, o, "valueType", &strings->value_type, &meta->value_type) ||
      !OptionalString(env, o, "route", &strings->route, &meta->route)) {
    return false;
  }
  Napi::Value vary = o.Get("vary");
  if (!vary.IsUndefined() && !vary.IsNull()) {
    if (!vary.IsArray()) return Fail(env, false, "meta.vary must be an array of header names");
    Napi::Array a = vary.As<Napi::Array>();
    const uint32_t n = a.Length();
    if (n > kMaxVaryNames) return Fail(env, true, "meta.vary must hold at most 64 names");
    strings->vary.reserve(n);  // no reallocation below: the views must stay valid
    for (uint32_t i = 0; i < n; ++i) {
      Napi::Value name = a.Get(i);
      if (!name.IsString()) return Fail(env, false, "meta.vary must be an array of header names");
      strings->vary.push_back(name.As<Napi::String>().Utf8Value());
      meta->vary.push_back(strings->vary.back());
    }
  }
  Napi::Value gzip = o.Get("gzip");
  if (!gzip.IsUndefined() && !gzip.IsNull()) {
    if (!gzip.IsObject()) return Fail(env, false, "meta.gzip must be an object { length, etag }");
    Napi::Object g = gzip.As<Napi::Object>();
    Napi::Value length = g.Get("length");
    Napi::Value etag = g.Get("etag");
    if (!length.IsNumber()) return Fail(env, false, "meta.gzip.length must be a number");
    const double len = length.As<Napi::Number>().DoubleValue();
    if (!(len >= 0 && len <= kMaxSafe) || std::floor(len) != len) {
      return Fail(env, true, "meta.gzip.length must be an integer from 0 to 2^53 - 1");
    }
    if (!etag.IsString()) return Fail(env, false, "meta.gzip.etag must be a string");
    strings->etag = etag.As<Napi::String>().Utf8Value();
    meta->gzip = GzipVariant{static_cast<uint64_t>(len), strings->etag};
  }
  Napi::Value flags = o.Get("flags");
  if (!flags.IsUndefined()) {
    if (!flags.IsNumber()) return Fail(env, false, "meta.flags must be a number");
    const double f = flags.As<Napi::Number>().DoubleValue();
    if (!(f >= 0 && f <= 4294967295.0) || std::floor(f) != f) {
      return Fail(env, true, "meta.flags must be an integer from 0 to 2^32 - 1");
    }
    meta->flags = static_cast<uint32_t>(f);
  }
  if (const char* problem = MetaProblem(*meta)) return Fail(env, true, problem);
  return !env.IsExceptionPending();
}

}  // namespace

// encodeEntry(status, headers: string[] flat, body: Buffer, storedAt, expiresAt, meta?) -> Buffer
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
  MetaStrings meta_strings;
  if (!ReadMeta(env, info[5], &meta_strings, &entry.meta)) return env.Undefined();
  std::string out;
  if (!EncodeEntry(entry, &out)) {
    Napi::RangeError::New(env, "encodeEntry(): the response cannot be stored (status, header "
                               "bytes or sizes out of range)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

// decodeEntryParts(bytes: Buffer, fields: ArrayBuffer(kDecodeFields * 8)) -> string.
// `fields`, read as a Float64Array, receives
//   [0] status, [1] bodyStart, [2] bodyEnd, [3] storedAt, [4] expiresAt, [5] header count (-1:
//   the bytes are not a valid entry and the string is the reason), [6] kind (0 response, 1 value,
//   2 vary), [7] flags, [8] present bits (1 ns, 2 valueType, 4 gzip, 8 route), [9] gzip identity
//   length, [10..13] the JavaScript lengths of ns, valueType, route and the gzip etag, [14] vary
//   count, [15..] the JavaScript length of each vary name;
// and the string is the meta strings in that order (ns, valueType, route, etag, vary names), then
// the headers as "name\nvalue\nname\nvalue" (decoding has checked that neither holds a LF).
// lib/binding.js slices and splits it and builds the entry, the body as
// bytes.subarray(bodyStart, bodyEnd). Everything Node-API creates or sets costs more than the
// decoding (an object with named properties, an array set element by element, a subarray call
// from here: 2.4 us for two headers), so one string is all this makes (0.3 us).
Napi::Value DecodeEntryParts(const Napi::CallbackInfo& info) {
  constexpr size_t kFixedFields = 15;
  constexpr size_t kFields = kFixedFields + kMaxVaryNames;
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
    Napi::TypeError::New(env, "decodeEntryParts(bytes, fields) expects a Buffer and an ArrayBuffer of " +
                                  std::to_string(kFields * sizeof(double)) + " bytes")
        .ThrowAsJavaScriptException();
    return Napi::Value();
  }
  auto refuse = [&](const char* reason) {
    const double refused[6] = {0, 0, 0, 0, 0, -1};
    std::memcpy(fields, refused, sizeof refused);
    return Napi::String::New(env, reason);
  };
  std::string_view view(data, length);
  EntryView entry;
  DecodeResult r = DecodeEntry(view, &entry);
  if (r != DecodeResult::kOk) return refuse(DecodeResultName(r));
  const EntryMeta& m = entry.meta;
  const std::string_view ns = m.ns.value_or(std::string_view());
  const std::string_view value_type = m.value_type.value_or(std::string_view());
  const std::string_view route = m.route.value_or(std::string_view());
  const std::string_view etag = m.gzip ? m.gzip->identity_etag : std::string_view();
  size_t joined_size = ns.size() + value_type.size() + route.size() + etag.size();
  for (std::string_view name : m.vary) joined_size += name.size();
  for (const auto& [name, value] : entry.headers) joined_size += name.size() + value.size() + 2;
  std::string joined;
  joined.reserve(joined_size);
  joined.append(ns).append(value_type).append(route).append(etag);
  for (std::string_view name : m.vary) joined.append(name);
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
  // The meta strings are valid UTF-8 (decoding checked), so V8 turns each into exactly
  // Utf16Length units and the offsets lib/binding.js slices at are right.
  double numbers[kFields] = {
      static_cast<double>(entry.status),
      static_cast<double>(body_start),
      static_cast<double>(body_start + entry.body.size()),
      static_cast<double>(entry.stored_at_ms),
      static_cast<double>(entry.expires_at_ms),
      static_cast<double>(entry.headers.size()),
      static_cast<double>(static_cast<uint8_t>(m.kind)),
      static_cast<double>(m.flags),
      static_cast<double>((m.ns ? 1 : 0) | (m.value_type ? 2 : 0) | (m.gzip ? 4 : 0) | (m.route ? 8 : 0)),
      m.gzip ? static_cast<double>(m.gzip->identity_length) : 0.0,
      static_cast<double>(Utf16Length(ns)),
      static_cast<double>(Utf16Length(value_type)),
      static_cast<double>(Utf16Length(route)),
      static_cast<double>(Utf16Length(etag)),
      static_cast<double>(m.vary.size()),
  };
  for (size_t i = 0; i < m.vary.size(); ++i) numbers[kFixedFields + i] = static_cast<double>(m.vary[i].size());
  std::memcpy(fields, numbers, (kFixedFields + m.vary.size()) * sizeof(double));
  return Napi::Value(env, out);
}

}  // namespace respcache
