// JavaScript string or Buffer arguments as bytes, for one call.
#pragma once
#include <napi.h>

#include <string>
#include <string_view>
#include <vector>

namespace respcache {

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

}  // namespace respcache
