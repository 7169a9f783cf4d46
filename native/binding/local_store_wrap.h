// The JavaScript face of LocalStore: `new LocalStore(maxBytes)` with get(), set(), delete(),
// deletePrefix(), purgeExpired(), clear() and stats(). Keys are strings, stored as their UTF-8
// bytes; payloads are Buffers.
//
// get(key) returns an external Buffer over the stored bytes whose finalizer owns a reference to
// them, so the Buffer stays valid however long JavaScript keeps it, even after the item is evicted,
// replaced or the store collected. The same bytes back every such hit, so readers must not modify
// the Buffer (Node has no read-only Buffers); set() copies its payload once, so the caller may
// reuse its own Buffer.
//
// get(key, slab, offset, maxCopy) instead copies a payload of at most maxCopy bytes that fits in
// the slab Buffer at offset there and returns its length; larger ones still come back as external
// Buffers. lib/binding.js hands the copies out as views of slabs it never writes twice. An external
// Buffer is what made a small hit slow: Node allocates a finalizer record and a tracking record for
// it, registers a cleanup hook and reports it to V8 as external memory, and once the GC frees it,
// runs the finalizer through a thread-safe SetImmediate. Measured here (Node 20, 1 KB payload):
// get() with an external Buffer 1.9 us, with a copy into a slab 0.2 us (0.4 us counting the view
// and the slabs' own allocation).
//
// Time is std::chrono::steady_clock, read at each call, not the loop's uv_now: uv_now is the time
// cached at the start of the loop turn, so a long synchronous stretch of JavaScript would see items
// as live that expired during it. steady_clock is monotonic, exact and, on Linux, a vDSO call.
//
// Lifetime: the wrapper holds no libuv handle and no JavaScript value, so it needs no cleanup
// hook. Its memory (the store and every item) is freed by the destructor when the object is
// collected or the environment torn down; Buffers handed out earlier keep only their own item.
// The store's accounted bytes are reported to V8 as external memory (napi_adjust_external_memory):
// otherwise V8 sees a small object, and stores that JavaScript dropped could hold gigabytes before
// a collection came round to them.
#pragma once

#include <napi.h>

#include <cstdint>

#include "core/local_store.h"

namespace respcache {

class LocalStoreWrap : public Napi::ObjectWrap<LocalStoreWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  // (maxBytes: integer 0..2^53-1): the bound on the sum of accounted item sizes
  // (key + payload + LocalStore::kItemOverhead bytes each).
  explicit LocalStoreWrap(const Napi::CallbackInfo& info);
  ~LocalStoreWrap() override;

  // Exposed to JavaScript.
  // (key, [slab: Buffer, offset: integer, maxCopy: number]) -> Buffer | copied length | null
  Napi::Value Get(const Napi::CallbackInfo& info);
  Napi::Value Set(const Napi::CallbackInfo& info);           // (key, payload: Buffer, ttlMs) -> stored?
  Napi::Value Delete(const Napi::CallbackInfo& info);        // (key) -> was there one?
  Napi::Value DeletePrefix(const Napi::CallbackInfo& info);  // (prefix) -> number removed
  Napi::Value PurgeExpired(const Napi::CallbackInfo& info);  // () -> number removed
  Napi::Value Clear(const Napi::CallbackInfo& info);         // () -> undefined; counters kept
  Napi::Value Stats(const Napi::CallbackInfo& info);         // () -> { entries, bytes, maxBytes, ... }

 private:
  static uint64_t NowMs();
  // Tells V8 how far the store's bytes moved since the last report.
  void ReportBytes(napi_env env);

  LocalStore store_;
  int64_t reported_bytes_ = 0;
};

}  // namespace respcache
