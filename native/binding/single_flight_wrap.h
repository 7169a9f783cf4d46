// The JavaScript face of SingleFlight: `new SingleFlight()` with join(), complete(), fail() and
// size. A follower waits on a promise that always resolves (never rejects) with what happened:
// { kind: 'value', payload }, { kind: 'failed' } or { kind: 'timeout' }. The payload is one Buffer
// shared by every follower of the flight (a copy of the leader's bytes): readers must not modify
// it. ('aborted' is the core's teardown answer; the table aborts only when JavaScript is gone, so
// no promise ever sees it.)
//
// Timeouts run on one libuv timer on Node's loop (napi_get_uv_event_loop), armed for the earliest
// follower deadline, in the loop's millisecond clock (updated at join, as setTimeout does). It is
// active, and so keeps the process alive, exactly while some follower waits: a waiting request
// must be answered, and its own timeout bounds the wait. For the same span the wrapper holds a
// strong reference to itself, so a table that JavaScript dropped still answers its followers.
// Promises settled from the timer are settled inside one HandleScope + CallbackScope, so their
// reactions (microtasks) run before the loop moves on.
//
// Teardown: an async cleanup hook drops every follower without touching JavaScript (the promises
// go with the environment) and closes the timer; Node waits for the close callback, which is code
// in this library, before the addon may be unloaded (worker threads).
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/single_flight.h"

namespace respcache {

class SingleFlightWrap : public Napi::ObjectWrap<SingleFlightWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit SingleFlightWrap(const Napi::CallbackInfo& info);
  ~SingleFlightWrap() override;

  // Exposed to JavaScript.
  Napi::Value Join(const Napi::CallbackInfo& info);      // (key, timeoutMs) -> null | Promise
  Napi::Value Complete(const Napi::CallbackInfo& info);  // (key, payload: Buffer) -> followers served
  Napi::Value Fail(const Napi::CallbackInfo& info);      // (key) -> followers told
  Napi::Value Size(const Napi::CallbackInfo& info);      // getter: flights under way

 private:
  // The timer and what its callbacks need. It outlives the wrapper until uv_close has finished,
  // and is the cleanup hook's argument, so neither callback ever sees a destroyed wrapper.
  struct Timer {
    uv_timer_t handle;
    SingleFlightWrap* owner = nullptr;  // null once the wrapper or the environment is gone
    napi_async_cleanup_hook_handle hook = nullptr;
    bool closing = false;
  };

  static void OnTimer(uv_timer_t* handle);
  static void OnTimerClosed(uv_handle_t* handle);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void CloseTimer(Timer* timer);

  // Resolves one follower's promise with `outcome` (nothing once the environment is gone).
  void Settle(napi_deferred deferred, const SingleFlight::Outcome& outcome);
  // Arms the timer for the next deadline (or stops it) and holds or releases the self-reference.
  void Rearm();
  bool ReadKey(const Napi::CallbackInfo& info, const char* method, std::string* key);

  SingleFlight table_;
  uv_loop_t* loop_ = nullptr;
  Timer* timer_ = nullptr;
  std::optional<uint64_t> armed_for_;  // the deadline the running timer was started for
  bool holding_ = false;               // Ref() taken while followers wait
  bool env_gone_ = false;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  // During complete(): the JavaScript Buffer made once over the payload every follower shares.
  const std::string* delivering_bytes_ = nullptr;
  napi_value delivering_buffer_ = nullptr;
};

}  // namespace respcache
