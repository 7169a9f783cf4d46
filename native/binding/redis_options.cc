#include "binding/redis_options.h"

#include <strings.h>

#include <cstring>

#include "binding/coded_error.h"

namespace respcache {

std::shared_ptr<const TlsContext> ReadTls(Napi::Env env, Napi::Value value, const char* who) {
  auto type_error = [&](const std::string& what) {
    Napi::TypeError::New(env, std::string(who) + ": " + what).ThrowAsJavaScriptException();
    return nullptr;
  };
  if (!value.IsObject()) return type_error("the \"tls\" option must be an object");
  Napi::Object o = value.As<Napi::Object>();
  TlsConfig config;
  struct Field {
    const char* name;
    std::string* out;
  } fields[] = {{"ca", &config.ca_pem},           {"cert", &config.cert_pem},
                {"key", &config.key_pem},         {"passphrase", &config.passphrase},
                {"servername", &config.servername}};
  for (const Field& f : fields) {
    Napi::Value v = o.Get(f.name);
    if (!v.IsString()) return type_error(std::string("tls.") + f.name + " must be a string");
    *f.out = v.As<Napi::String>().Utf8Value();
  }
  if (config.ca_pem.empty()) return type_error("tls.ca must not be empty");
  Napi::Value v = o.Get("rejectUnauthorized");
  if (!v.IsBoolean()) return type_error("tls.rejectUnauthorized must be a boolean");
  config.verify = v.As<Napi::Boolean>().Value();
  v = o.Get("minVersion");
  std::string min = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (min == "TLSv1.2") {
    config.min_version = TlsConfig::MinVersion::kTls12;
  } else if (min == "TLSv1.3") {
    config.min_version = TlsConfig::MinVersion::kTls13;
  } else {
    return type_error("tls.minVersion must be 'TLSv1.2' or 'TLSv1.3'");
  }
  TlsContext::Error error;
  std::string message;
  std::shared_ptr<const TlsContext> context = TlsContext::Get(config, &error, &message);
  if (!context) {
    const bool unavailable = error == TlsContext::Error::kUnavailable;
    MakeCodedError(env, unavailable ? kCodeTlsUnavailable : kCodeTlsBadOptions,
                   std::string(who) + ": " + message)
        .ThrowAsJavaScriptException();
  }
  return context;
}

bool ReadPreload(Napi::Env env, Napi::Value value, const char* who, std::vector<std::string>* out) {
  if (value.IsUndefined()) return true;
  bool ok = value.IsArray();
  if (ok) {
    Napi::Array scripts = value.As<Napi::Array>();
    for (uint32_t i = 0; ok && i < scripts.Length(); ++i) {
      Napi::Value script = scripts.Get(i);
      ok = script.IsString();
      if (ok) out->push_back(script.As<Napi::String>().Utf8Value());
    }
  }
  if (!ok) {
    Napi::TypeError::New(env, std::string(who) + ": the \"preload\" option must be an array of script texts")
        .ThrowAsJavaScriptException();
  }
  return ok;
}

uint32_t OptionalMs(const Napi::Object& o, const char* name, uint32_t fallback) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) return 0;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= 86400000)) return 0;
  return static_cast<uint32_t>(d);
}

const char* FailureCode(FailureKind kind) {
  switch (kind) {
    case FailureKind::kUnavailable: return kCodeUnavailable;
    case FailureKind::kTlsHandshake: return kCodeTlsHandshake;
    case FailureKind::kTlsUnknownCa: return kCodeTlsUnknownCa;
    case FailureKind::kTlsNameMismatch: return kCodeTlsNameMismatch;
    case FailureKind::kTlsCertExpired: return kCodeTlsCertExpired;
    case FailureKind::kTlsClientCertRejected: return kCodeTlsClientCertRejected;
  }
  return kCodeUnavailable;
}

bool NameIs(const char* data, size_t len, const char* word) {
  size_t n = std::strlen(word);
  return len == n && strncasecmp(data, word, n) == 0;
}

bool IsModeCommand(const char* data, size_t len) {
  for (const char* word : {"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE",
                           "SUNSUBSCRIBE", "MONITOR"}) {
    if (NameIs(data, len, word)) return true;
  }
  return false;
}

bool ReadCommandArray(Napi::Env env, Napi::Value value, const char* what, Napi::Array* out) {
  if (!value.IsArray()) {
    Napi::TypeError::New(env, std::string(what) + " expects an array of strings or Buffers")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = value.As<Napi::Array>();
  if (out->Length() == 0) {
    Napi::TypeError::New(env, std::string(what) + " expects at least the command name")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool ReadCommandArgv(Napi::Env env, const Napi::Array& args, const char* what, CommandArgv* out) {
  uint32_t argc = args.Length();
  out->ptrs.resize(argc);
  out->lens.resize(argc);
  out->strings.reserve(argc);  // no reallocation: ptrs point into these strings
  for (uint32_t i = 0; i < argc; ++i) {
    Napi::Value a = args.Get(i);
    if (a.IsBuffer()) {
      auto b = a.As<Napi::Buffer<char>>();
      out->ptrs[i] = b.Length() ? b.Data() : "";
      out->lens[i] = b.Length();
    } else if (a.IsString() || a.IsNumber()) {
      out->strings.push_back(a.ToString().Utf8Value());
      out->ptrs[i] = out->strings.back().data();
      out->lens[i] = out->strings.back().size();
    } else {
      Napi::TypeError::New(env, std::string(what) + ": argument " + std::to_string(i) +
                                    " must be a string, a number or a Buffer")
          .ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

bool ReadTimeout(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* what,
                 uint32_t* out) {
  *out = 0;
  if (info.Length() <= i || info[i].IsUndefined()) return true;
  double d = info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 1 && d <= 86400000)) {
    Napi::RangeError::New(env, std::string(what) + ": timeoutMs must be 1..86400000")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

}  // namespace respcache
