// The JavaScript face of LocalStore: `new LocalStore(maxBytes)` with get(), set(), delete(),
// deletePrefix(), purgeExpired(), clear() and stats(). Keys are strings, stored as their UTF-8
// bytes; values are Buffers, held by reference.
//
// set(key, buffer, ttlMs) copies nothing: the store keeps a persistent Node-API reference to that
// very Buffer (refcount 1, so it stays alive while stored) and accounts its byteLength. get(key)
// returns that same Buffer object, so `store.get(k) === store.get(k)` and `store.get(k) ===
// buffer`: a hit copies nothing, allocates nothing and leaves nothing for the GC to finalize (an
// external Buffer per hit cost a finalizer record, a cleanup hook and a trip through
// SetImmediate; a copy into a slab cost the copy). The price is the contract: the caller must not
// modify a Buffer after giving it to set(), and no reader may modify one that get() returned;
// the store, every reader and the original are one Buffer. lib only stores encoded entries, which
// are never written after encoding. A Buffer that views part of a larger ArrayBuffer keeps all of
// it alive while stored, and only its byteLength is accounted: store Buffers of their own (lib's
// come from encodeEntry or a Redis reply, each with its own memory).
//
// Each reference is deleted exactly once, when the core releases its item (eviction, expiry,
// delete, deletePrefix, replacement by a later set of the key, a refused set, clear()) or when the
// store is destroyed, after which the GC may collect the Buffer if nothing else holds it.
//
// Time is std::chrono::steady_clock, read at each call, not the loop's uv_now: uv_now is the time
// cached at the start of the loop turn, so a long synchronous stretch of JavaScript would see items
// as live that expired during it. steady_clock is monotonic, exact and, on Linux, a vDSO call.
//
// Threads: one JavaScript thread calls every method (Node-API allows no other), so nothing is
// locked. Lifetime: the wrapper holds no libuv handle, so it needs no cleanup hook of its own. Its
// destructor, run when the object is collected or the environment torn down (Node runs the
// finalizers of wrapped objects then), deletes the references still held. napi_delete_reference
// is allowed in a finalizer and runs no JavaScript. The Buffers' bytes are V8's own (it counts
// them as ArrayBuffer memory); what is native, the keys and nodes (Bytes() - ValueBytes()), is
// reported with napi_adjust_external_memory so V8 sees what a store it could collect holds.
#pragma once

#include <napi.h>

#include <cstdint>

#include "core/local_store.h"

namespace respcache {

class LocalStoreWrap : public Napi::ObjectWrap<LocalStoreWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  // (maxBytes: integer 0..2^53-1): the bound on the sum of accounted item sizes
  // (key + byteLength + LocalStore::kItemOverhead bytes each).
  explicit LocalStoreWrap(const Napi::CallbackInfo& info);
  ~LocalStoreWrap() override;

  // Exposed to JavaScript.
  Napi::Value Get(const Napi::CallbackInfo& info);           // (key) -> the Buffer set | null
  Napi::Value Set(const Napi::CallbackInfo& info);           // (key, value: Buffer, ttlMs) -> stored?
  Napi::Value Delete(const Napi::CallbackInfo& info);        // (key) -> was there one?
  Napi::Value DeletePrefix(const Napi::CallbackInfo& info);  // (prefix) -> number removed
  Napi::Value PurgeExpired(const Napi::CallbackInfo& info);  // () -> number removed
  Napi::Value Clear(const Napi::CallbackInfo& info);         // () -> undefined; counters kept
  Napi::Value Stats(const Napi::CallbackInfo& info);         // () -> { entries, bytes, maxBytes, ... }

 private:
  static uint64_t NowMs();
  // The core's release callback: context is the napi_env, value a napi_ref.
  static void ReleaseReference(void* env, LocalStore::Value value) noexcept;
  // Tells V8 how far the store's native bytes moved since the last report.
  void ReportBytes(napi_env env);

  LocalStore store_;
  int64_t reported_bytes_ = 0;
};

}  // namespace respcache
