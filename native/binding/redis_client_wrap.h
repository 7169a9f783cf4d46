// The JavaScript face of RedisConnection: `new RedisClient(options)` with command(), close() and
// status, retarget({ host, port }) and replicas (options expectMaster, preload); with `subscriber: true`, subscribe()/unsubscribe()/psubscribe()/punsubscribe() and
// messages through onEvent. Converts arguments and replies with the code RedisClusterClientWrap
// shares (binding/redis_options.h, binding/redis_replies.h), and turns connection callbacks into
// promise settlements inside one HandleScope + CallbackScope per libuv event (so microtasks and
// nextTicks run).
// With the normalised `tls` option (lib/binding.js) the connection runs TLS with a TlsContext
// shared by every client configured alike; a bad shape throws a TypeError, unusable PEMs
// ERR_RESPCACHE_TLS_BAD_OPTIONS, no usable OpenSSL ERR_RESPCACHE_TLS_UNAVAILABLE; TLS failures at
// run time reach onEvent('error') with their ERR_RESPCACHE_TLS_* code.
//
// Lifetime: the wrapper keeps itself alive (a strong reference) while its connection is open, so
// an unclosed client is never collected under its own socket; close() or environment teardown
// ends it. Teardown uses an async cleanup hook: a worker thread unloads the addon after its
// environment ends, so Node must wait until the connection's handles have finished closing
// (their close callbacks are code in this library).
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "binding/coded_error.h"
#include "redis/redis_connection.h"

namespace respcache {

class RedisClientWrap : public Napi::ObjectWrap<RedisClientWrap>,
                        private RedisConnection::Listener {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit RedisClientWrap(const Napi::CallbackInfo& info);
  ~RedisClientWrap() override;

  // Exposed to JavaScript.
  Napi::Value Command(const Napi::CallbackInfo& info);  // (argv[, timeoutMs]) -> Promise
  // Subscriber clients only: (name: string|Buffer) -> Promise<void>
  Napi::Value Subscribe(const Napi::CallbackInfo& info);
  Napi::Value Unsubscribe(const Napi::CallbackInfo& info);
  Napi::Value PSubscribe(const Napi::CallbackInfo& info);
  Napi::Value PUnsubscribe(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);    // () -> Promise<void>
  Napi::Value Status(const Napi::CallbackInfo& info);   // getter
  // ({ host, port }) -> undefined: RedisConnection::Retarget, keeping credentials, db and TLS.
  Napi::Value Retarget(const Napi::CallbackInfo& info);
  // getter: replicas ROLE listed in the last handshake (expectMaster), else null.
  Napi::Value Replicas(const Napi::CallbackInfo& info);

 private:
  struct CommandBaton;
  static void OnCommandDone(void* data, redisReply* reply, CommandError error, const char* message);
  static void OnPubSubDone(void* data, redisReply* reply, CommandError error, const char* message);
  Napi::Value PubSub(const Napi::CallbackInfo& info, RedisConnection::PubSubOp op, const char* what);

  void EnterLoopEvent() override;
  void ExitLoopEvent() override;
  void OnStateChange(RedisConnection::State state, const std::string& error,
                     FailureKind kind) override;
  void OnClosed() override;
  void OnMessage(const RedisConnection::Message& message) override;

  void Emit(const char* type, napi_value arg);
  void EmitArgs(const char* type, size_t argc, const napi_value* args);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void RemoveCleanupHook(void* handle);
  void ReleaseHook();

  RedisConnection* conn_ = nullptr;  // owned by itself once closed or aborted
  Napi::FunctionReference on_event_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::vector<napi_deferred> close_waiters_;
  napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;
  bool subscriber_ = false;
  bool env_gone_ = false;
  int scope_depth_ = 0;
  napi_handle_scope handle_scope_ = nullptr;
  napi_callback_scope callback_scope_ = nullptr;
};

}  // namespace respcache
