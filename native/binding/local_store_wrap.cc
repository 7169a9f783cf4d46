#include "binding/local_store_wrap.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace respcache {

namespace {

// 2^53 - 1: beyond it a JavaScript number no longer holds every integer.
constexpr double kMaxSafe = 9007199254740991.0;

// The UTF-8 bytes of a JavaScript string argument: in a stack buffer for the usual key (a hex
// digest and a prefix), on the heap only beyond, so a hit allocates nothing for its key.
class KeyArg {
 public:
  // Returns false (with a pending TypeError naming `method` and `what`) when v is not a string.
  bool Read(const Napi::Value& v, const char* method, const char* what) {
    napi_env env = v.Env();
    if (!v.IsString()) {
      Napi::TypeError::New(env, std::string(method) + "(): " + what + " must be a string")
          .ThrowAsJavaScriptException();
      return false;
    }
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, stack_, sizeof stack_, &len) != napi_ok) return false;
    // Node writes whole characters only (at most 4 bytes each), so a string that stopped this far
    // short of the buffer's end is complete; one that came closer may have been cut.
    if (len + 4 < sizeof stack_ - 1) {
      view_ = std::string_view(stack_, len);
      return true;
    }
    if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
    heap_.resize(len + 1);
    if (napi_get_value_string_utf8(env, v, heap_.data(), heap_.size(), &len) != napi_ok) {
      return false;
    }
    heap_.resize(len);
    view_ = heap_;
    return true;
  }

  std::string_view view() const { return view_; }

 private:
  char stack_[256];
  std::string heap_;
  std::string_view view_;
};

}  // namespace

Napi::Function LocalStoreWrap::Define(Napi::Env env) {
  return DefineClass(env, "LocalStore",
                     {InstanceMethod<&LocalStoreWrap::Get>("get"),
                      InstanceMethod<&LocalStoreWrap::Set>("set"),
                      InstanceMethod<&LocalStoreWrap::Delete>("delete"),
                      InstanceMethod<&LocalStoreWrap::DeletePrefix>("deletePrefix"),
                      InstanceMethod<&LocalStoreWrap::PurgeExpired>("purgeExpired"),
                      InstanceMethod<&LocalStoreWrap::Clear>("clear"),
                      InstanceMethod<&LocalStoreWrap::Stats>("stats")});
}

namespace {

// The constructor's argument, checked before the store is built with it.
size_t MaxBytesArg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "LocalStore(maxBytes): maxBytes must be a number")
        .ThrowAsJavaScriptException();
    return 0;
  }
  double max = info[0].As<Napi::Number>().DoubleValue();
  if (!(max >= 0 && max <= kMaxSafe) || std::floor(max) != max ||
      max > static_cast<double>(SIZE_MAX)) {
    Napi::RangeError::New(env, "LocalStore(maxBytes): maxBytes must be an integer number of "
                               "bytes, 0..9007199254740991")
        .ThrowAsJavaScriptException();
    return 0;
  }
  return static_cast<size_t>(max);
}

}  // namespace

// On a bad argument the exception is pending and the half-made object is discarded by the caller.
LocalStoreWrap::LocalStoreWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<LocalStoreWrap>(info),
      store_(MaxBytesArg(info), &LocalStoreWrap::ReleaseReference,
             static_cast<napi_env>(info.Env())) {}

// Runs inside store calls and the store's destructor, finalizer included; the env outlives both.
// A failure leaves nothing to retry: the reference is gone or the env is going.
void LocalStoreWrap::ReleaseReference(void* env, LocalStore::Value value) noexcept {
  napi_delete_reference(static_cast<napi_env>(env), static_cast<napi_ref>(value));
}

// A finalizer may adjust external memory (Node-API lists it among the calls allowed there). The
// references still held are deleted by store_'s destructor, which runs after this body.
LocalStoreWrap::~LocalStoreWrap() {
  if (reported_bytes_ != 0) {
    int64_t total;
    napi_adjust_external_memory(Env(), -reported_bytes_, &total);
  }
}

void LocalStoreWrap::ReportBytes(napi_env env) {
  int64_t bytes = static_cast<int64_t>(store_.Bytes() - store_.ValueBytes());
  if (bytes == reported_bytes_) return;  // every hit, and every set that replaces a value
  int64_t total;
  if (napi_adjust_external_memory(env, bytes - reported_bytes_, &total) == napi_ok) {
    reported_bytes_ = bytes;
  }
}

uint64_t LocalStoreWrap::NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

Napi::Value LocalStoreWrap::Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyArg key;
  if (!key.Read(info[0], "get", "key")) return env.Undefined();
  LocalStore::Value held = store_.Get(key.view(), NowMs());
  if (held == nullptr) {
    ReportBytes(env);  // the item may have expired and gone
    return env.Null();
  }
  // The Buffer set() was given, itself: the reference is strong, so it is there.
  napi_value out = nullptr;
  if (napi_get_reference_value(env, static_cast<napi_ref>(held), &out) != napi_ok || out == nullptr) {
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "get(): the stored Buffer could not be read").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  return Napi::Value(env, out);
}

Napi::Value LocalStoreWrap::Set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyArg key;
  if (!key.Read(info[0], "set", "key")) return env.Undefined();
  if (!info[1].IsBuffer()) {
    Napi::TypeError::New(env, "set(): payload must be a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!info[2].IsNumber()) {
    Napi::TypeError::New(env, "set(): ttlMs must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double ttl_ms = std::ceil(info[2].As<Napi::Number>().DoubleValue());
  if (!(ttl_ms >= 1 && ttl_ms <= kMaxSafe)) {
    Napi::RangeError::New(env, "set(): ttlMs must be a number of milliseconds, 1..9007199254740991")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t size = info[1].As<Napi::Buffer<char>>().Length();
  if (LocalStore::AccountedSize(key.view().size(), size) > store_.MaxBytes()) {
    // The store would refuse it (and drop the old value) anyway: spare the reference.
    store_.Delete(key.view());
    ReportBytes(env);
    return Napi::Boolean::New(env, false);
  }
  // Held, not copied: the caller gives the Buffer up (see the header).
  napi_ref ref = nullptr;
  if (napi_create_reference(env, info[1], 1, &ref) != napi_ok) {
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "set(): could not hold the Buffer").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  uint64_t now = NowMs();
  // The store owns ref from here, stored or not.
  bool stored = store_.Set(key.view(), ref, size, now + static_cast<uint64_t>(ttl_ms), now);
  ReportBytes(env);
  return Napi::Boolean::New(env, stored);
}

Napi::Value LocalStoreWrap::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyArg key;
  if (!key.Read(info[0], "delete", "key")) return env.Undefined();
  bool deleted = store_.Delete(key.view());
  ReportBytes(env);
  return Napi::Boolean::New(env, deleted);
}

Napi::Value LocalStoreWrap::DeletePrefix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyArg prefix;
  if (!prefix.Read(info[0], "deletePrefix", "prefix")) return env.Undefined();
  size_t removed = store_.DeletePrefix(prefix.view());
  ReportBytes(env);
  return Napi::Number::New(env, static_cast<double>(removed));
}

Napi::Value LocalStoreWrap::PurgeExpired(const Napi::CallbackInfo& info) {
  size_t removed = store_.PurgeExpired(NowMs());
  ReportBytes(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(removed));
}

Napi::Value LocalStoreWrap::Clear(const Napi::CallbackInfo& info) {
  store_.Clear();
  ReportBytes(info.Env());
  return info.Env().Undefined();
}

Napi::Value LocalStoreWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LocalStore::Stats& s = store_.GetStats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("entries", Napi::Number::New(env, static_cast<double>(store_.Size())));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(store_.Bytes())));
  out.Set("maxBytes", Napi::Number::New(env, static_cast<double>(store_.MaxBytes())));
  out.Set("hits", Napi::Number::New(env, static_cast<double>(s.hits)));
  out.Set("misses", Napi::Number::New(env, static_cast<double>(s.misses)));
  out.Set("evictions", Napi::Number::New(env, static_cast<double>(s.evictions)));
  out.Set("expirations", Napi::Number::New(env, static_cast<double>(s.expirations)));
  return out;
}

}  // namespace respcache
