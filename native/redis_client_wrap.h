// The JavaScript face of RedisConnection: `new RedisClient(options)` with command(), close() and
// status. Converts arguments and replies, and turns connection callbacks into promise settlements
// inside one HandleScope + CallbackScope per libuv event (so microtasks and nextTicks run).
//
// Lifetime: the wrapper keeps itself alive (a strong reference) while its connection is open, so
// an unclosed client is never collected under its own socket; close() or environment teardown
// (cleanup hook) ends it.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "redis_connection.h"

namespace respcache {

class RedisClientWrap : public Napi::ObjectWrap<RedisClientWrap>,
                        private RedisConnection::Listener {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit RedisClientWrap(const Napi::CallbackInfo& info);
  ~RedisClientWrap() override;

  // Exposed to JavaScript.
  Napi::Value Command(const Napi::CallbackInfo& info);  // (argv[, timeoutMs]) -> Promise
  Napi::Value Close(const Napi::CallbackInfo& info);    // () -> Promise<void>
  Napi::Value Status(const Napi::CallbackInfo& info);   // getter

 private:
  struct CommandBaton;
  static void OnCommandDone(void* data, redisReply* reply, CommandError error, const char* message);

  void EnterLoopEvent() override;
  void ExitLoopEvent() override;
  void OnStateChange(RedisConnection::State state, const std::string& error) override;
  void OnClosed() override;

  void Emit(const char* type, napi_value arg);
  static void OnEnvCleanup(void* arg);
  void ReleaseHook();

  RedisConnection* conn_ = nullptr;  // owned by itself once closed or aborted
  Napi::FunctionReference on_event_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::vector<napi_deferred> close_waiters_;
  bool hook_registered_ = false;
  bool env_gone_ = false;
  int scope_depth_ = 0;
  napi_handle_scope handle_scope_ = nullptr;
  napi_callback_scope callback_scope_ = nullptr;
};

// Builds a rejected-command error: an Error with a stable `code`.
Napi::Error MakeCodedError(Napi::Env env, const char* code, const std::string& message);

}  // namespace respcache
