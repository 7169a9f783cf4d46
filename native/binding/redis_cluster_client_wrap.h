// The JavaScript face of ClusterClient: `new RedisClusterClient(options)` with the surface of
// RedisClient (command(), close(), status, onEvent) plus what a cluster needs: commandDurable(),
// commandOnNode(), masters, topologyEpoch, refresh() and keySlot(). The contract is in
// lib/binding.js. Options and command arguments are read by the same code as RedisClient's
// (binding/redis_options.h), and `tls` and `preload` apply to every connection of the client.
// Replies are converted by the same code too (binding/redis_replies.h); the client's callbacks
// become promise settlements inside one HandleScope + CallbackScope per libuv event (so
// microtasks and nextTicks run).
//
// Lifetime, as RedisClientWrap: the wrapper keeps itself alive (a strong reference) while its
// client is open, so an unclosed client is never collected under its own sockets; close() or
// environment teardown ends it. Teardown uses an async cleanup hook: Node waits until every
// connection and timer of the client has closed (their close callbacks are code in this library,
// which a worker thread unloads after its environment ends).
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "binding/coded_error.h"
#include "redis/cluster_client.h"

namespace respcache {

class RedisClusterClientWrap : public Napi::ObjectWrap<RedisClusterClientWrap>,
                               private ClusterClient::Listener {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit RedisClusterClientWrap(const Napi::CallbackInfo& info);
  ~RedisClusterClientWrap() override;

  // Exposed to JavaScript.
  // (argv[, timeoutMs[, flush[, route: slot number | "host:port"]]]) -> Promise
  Napi::Value Command(const Napi::CallbackInfo& info);
  // (argv[, timeoutMs[, slot]]) -> Promise: the reply once the master's replicas confirmed it
  Napi::Value CommandDurable(const Napi::CallbackInfo& info);
  // ("host:port", argv[, timeoutMs]) -> Promise: that node only, no redirect followed
  Napi::Value CommandOnNode(const Napi::CallbackInfo& info);
  // () -> Promise<number>: the topology epoch after the next finished refresh
  Napi::Value Refresh(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);  // () -> Promise<void>
  Napi::Value Status(const Napi::CallbackInfo& info);         // getter
  Napi::Value Masters(const Napi::CallbackInfo& info);        // getter
  Napi::Value TopologyEpoch(const Napi::CallbackInfo& info);  // getter
  // (key: string|Buffer) -> number (CLUSTER KEYSLOT); also a static method of the class.
  Napi::Value KeySlot(const Napi::CallbackInfo& info);
  static Napi::Value KeySlotStatic(const Napi::CallbackInfo& info);

 private:
  struct CommandBaton;
  enum class Kind { kRouted, kDurable, kOnNode };
  Napi::Value Send(const Napi::CallbackInfo& info, Kind kind);
  static void OnCommandDone(void* data, redisReply* reply, CommandError error, const char* message);

  void EnterLoopEvent() override;
  void ExitLoopEvent() override;
  void OnStateChange(RedisConnection::State state, const std::string& error,
                     FailureKind kind) override;
  void OnTopologyChange(uint64_t epoch) override;
  void OnRefreshed(uint64_t generation, bool ok, const std::string& error) override;
  void OnClosed() override;

  void Emit(const char* type, size_t argc, const napi_value* args);
  // Settles the waiters that a refresh of `generation` satisfies (UINT64_MAX: all of them).
  void SettleRefreshWaiters(uint64_t generation, bool ok, const char* code, const std::string& error);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void RemoveCleanupHook(void* handle);
  void ReleaseHook();

  ClusterClient* client_ = nullptr;  // owned by itself once closed or aborted
  Napi::FunctionReference on_event_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::vector<napi_deferred> close_waiters_;
  // refresh() promises, each with the first refresh generation that may settle it: one that
  // started after the call.
  std::vector<std::pair<napi_deferred, uint64_t>> refresh_waiters_;
  napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;
  bool env_gone_ = false;
  int scope_depth_ = 0;
  napi_handle_scope handle_scope_ = nullptr;
  napi_callback_scope callback_scope_ = nullptr;
};

}  // namespace respcache
