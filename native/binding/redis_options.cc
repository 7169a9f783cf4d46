#include "binding/redis_options.h"

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

}  // namespace respcache
