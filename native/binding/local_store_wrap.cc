#include "binding/local_store_wrap.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

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

// A Buffer over the shared payload without copying it: the finalizer owns a reference, so the
// bytes live as long as the Buffer does. The finalizer touches nothing but that reference (the
// count is atomic, the bytes immutable), so it is safe whenever Node runs it, even after the store
// is gone.
napi_value PayloadBuffer(Napi::Env env, std::shared_ptr<const std::string> payload) {
  napi_value out = nullptr;
  if (payload->empty()) return Napi::Buffer<char>::New(env, 0);
  auto* keep = new std::shared_ptr<const std::string>(std::move(payload));
  const std::string& bytes = **keep;
  napi_status status = napi_create_external_buffer(
      env, bytes.size(), const_cast<char*>(bytes.data()),
      [](napi_env, void*, void* hint) { delete static_cast<std::shared_ptr<const std::string>*>(hint); },
      keep, &out);
  if (status == napi_ok) return out;
  // Runtimes without external buffers (a V8 sandbox) get a copy instead.
  std::shared_ptr<const std::string> held = std::move(*keep);
  delete keep;
  if (napi_create_buffer_copy(env, held->size(), held->data(), nullptr, &out) == napi_ok) return out;
  if (!env.IsExceptionPending()) {
    Napi::Error::New(env, "get(): could not allocate the Buffer").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

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
    : Napi::ObjectWrap<LocalStoreWrap>(info), store_(MaxBytesArg(info)) {}

// A finalizer may adjust external memory (Node-API lists it among the calls allowed there).
LocalStoreWrap::~LocalStoreWrap() {
  if (reported_bytes_ != 0) {
    int64_t total;
    napi_adjust_external_memory(Env(), -reported_bytes_, &total);
  }
}

void LocalStoreWrap::ReportBytes(napi_env env) {
  int64_t bytes = static_cast<int64_t>(store_.Bytes());
  if (bytes == reported_bytes_) return;  // every hit, and most sets that replace a same-size entry
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

namespace {

// get()'s optional (slab, offset, maxCopy): where a small payload is copied. Read before the
// lookup, so a refused call changes nothing (not even recency or the counters).
struct CopyTarget {
  char* at = nullptr;  // slab + offset; null when no slab was given
  size_t room = 0;     // min(maxCopy, slab length - offset)
};

// Returns false (with a pending exception) on a bad slab, offset or maxCopy.
bool ReadCopyTarget(const Napi::CallbackInfo& info, CopyTarget* out) {
  if (info.Length() < 2 || info[1].IsUndefined()) return true;
  Napi::Env env = info.Env();
  double offset = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  double max_copy = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : -1;
  if (!info[1].IsBuffer() || !(offset >= 0 && offset <= kMaxSafe) || std::floor(offset) != offset ||
      !(max_copy >= 0 && max_copy <= kMaxSafe)) {
    Napi::TypeError::New(env, "get(key, slab, offset, maxCopy): slab must be a Buffer, offset an "
                              "integer and maxCopy a number of bytes")
        .ThrowAsJavaScriptException();
    return false;
  }
  auto slab = info[1].As<Napi::Buffer<char>>();
  if (offset > static_cast<double>(slab.Length())) {
    Napi::RangeError::New(env, "get(key, slab, offset, maxCopy): offset is beyond the slab")
        .ThrowAsJavaScriptException();
    return false;
  }
  size_t start = static_cast<size_t>(offset);
  out->at = slab.Data() + start;
  out->room = std::min(slab.Length() - start, static_cast<size_t>(max_copy));
  return true;
}

}  // namespace

Napi::Value LocalStoreWrap::Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyArg key;
  if (!key.Read(info[0], "get", "key")) return env.Undefined();
  CopyTarget target;
  if (!ReadCopyTarget(info, &target)) return env.Undefined();
  std::shared_ptr<const std::string> payload = store_.Get(key.view(), NowMs());
  if (!payload) {
    ReportBytes(env);  // the item may have expired and gone
    return env.Null();
  }
  if (target.at != nullptr && payload->size() <= target.room) {
    // For a few KB a copy is cheaper than any Buffer of its own (see the header).
    if (!payload->empty()) std::memcpy(target.at, payload->data(), payload->size());
    return Napi::Number::New(env, static_cast<double>(payload->size()));
  }
  return Napi::Value(env, PayloadBuffer(env, std::move(payload)));
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
  auto source = info[1].As<Napi::Buffer<char>>();
  if (LocalStore::AccountedSize(key.view().size(), source.Length()) > store_.MaxBytes()) {
    // The store would refuse it (and drop the old value) anyway: spare the copy.
    store_.Delete(key.view());
    ReportBytes(env);
    return Napi::Boolean::New(env, false);
  }
  // One copy, so the caller may reuse its Buffer and the stored bytes never change.
  auto payload = std::make_shared<const std::string>(source.Data(), source.Length());
  uint64_t now = NowMs();
  bool stored = store_.Set(key.view(), std::move(payload), now + static_cast<uint64_t>(ttl_ms), now);
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
