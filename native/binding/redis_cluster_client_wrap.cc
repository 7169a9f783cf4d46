#include "binding/redis_cluster_client_wrap.h"

#include <cmath>
#include <string>
#include <string_view>

#include "binding/redis_options.h"
#include "binding/redis_replies.h"
#include "core/cluster_slot.h"

namespace respcache {

namespace {

// Beside the mode commands (every master link is shared and pipelined), READONLY: it would let a
// replica answer, and this client reads masters only, since replicas lag behind invalidations.
bool IsRefusedCommand(const char* data, size_t len) {
  return IsModeCommand(data, len) || NameIs(data, len, "READONLY");
}

// The command's arguments; throws (returns false) on a bad shape or a refused command.
bool ReadArgv(Napi::Env env, Napi::Value value, const char* what, CommandArgv* out) {
  Napi::Array args;
  if (!ReadCommandArray(env, value, what, &args) || !ReadCommandArgv(env, args, what, out)) {
    return false;
  }
  if (IsRefusedCommand(out->ptrs[0], out->lens[0])) {
    Napi::TypeError::New(env, std::string(what) + ": " + std::string(out->ptrs[0], out->lens[0]) +
                                  " is not supported by RedisClusterClient (its connections are "
                                  "shared and read masters only)")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// A slot given as a route: an integer 0..16383; throws otherwise.
bool ReadSlot(Napi::Env env, Napi::Value v, const char* what, int* out) {
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < kClusterSlots) || std::floor(d) != d) {
    Napi::RangeError::New(env, std::string(what) + ": a slot route must be an integer 0..16383")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

}  // namespace

struct RedisClusterClientWrap::CommandBaton {
  RedisClusterClientWrap* owner;
  napi_deferred deferred;
};

Napi::Function RedisClusterClientWrap::Define(Napi::Env env) {
  return DefineClass(
      env, "RedisClusterClient",
      {InstanceMethod<&RedisClusterClientWrap::Command>("command"),
       InstanceMethod<&RedisClusterClientWrap::CommandDurable>("commandDurable"),
       InstanceMethod<&RedisClusterClientWrap::CommandOnNode>("commandOnNode"),
       InstanceMethod<&RedisClusterClientWrap::Refresh>("refresh"),
       InstanceMethod<&RedisClusterClientWrap::Close>("close"),
       InstanceMethod<&RedisClusterClientWrap::KeySlot>("keySlot"),
       StaticMethod<&RedisClusterClientWrap::KeySlotStatic>("keySlot"),
       InstanceAccessor<&RedisClusterClientWrap::Status>("status"),
       InstanceAccessor<&RedisClusterClientWrap::Masters>("masters"),
       InstanceAccessor<&RedisClusterClientWrap::TopologyEpoch>("topologyEpoch")});
}

RedisClusterClientWrap::RedisClusterClientWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<RedisClusterClientWrap>(info) {
  Napi::Env env = info.Env();
  auto type_error = [&](const std::string& what) {
    Napi::TypeError::New(env, "RedisClusterClient: " + what).ThrowAsJavaScriptException();
  };
  auto range_error = [&](const std::string& what) {
    Napi::RangeError::New(env, "RedisClusterClient: " + what).ThrowAsJavaScriptException();
  };
  if (info.Length() < 1 || !info[0].IsObject()) {
    type_error("expects an options object");
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  ClusterClient::Options options;
  std::string username, password;
  Napi::Value v = o.Get("username");
  if (v.IsString()) username = v.As<Napi::String>().Utf8Value();
  v = o.Get("password");
  if (v.IsString()) password = v.As<Napi::String>().Utf8Value();
  v = o.Get("nodes");
  if (!v.IsArray() || v.As<Napi::Array>().Length() == 0) {
    type_error("the \"nodes\" option must be a non-empty array of { host, port }");
    return;
  }
  Napi::Array nodes = v.As<Napi::Array>();
  for (uint32_t i = 0; i < nodes.Length(); ++i) {
    Napi::Value n = nodes.Get(i);
    if (!n.IsObject()) {
      type_error("nodes[" + std::to_string(i) + "] must be an object { host, port }");
      return;
    }
    RedisEndpoint seed;
    Napi::Value host = n.As<Napi::Object>().Get("host");
    Napi::Value port = n.As<Napi::Object>().Get("port");
    if (host.IsString()) {
      seed.host = host.As<Napi::String>().Utf8Value();
    } else if (!host.IsUndefined()) {
      type_error("nodes[" + std::to_string(i) + "].host must be a string");
      return;
    }
    double p = port.IsNumber() ? port.As<Napi::Number>().DoubleValue() : -1;
    if (!(p >= 1 && p <= 65535) || std::floor(p) != p) {
      range_error("nodes[" + std::to_string(i) + "].port must be an integer 1..65535");
      return;
    }
    seed.port = static_cast<int>(p);
    seed.username = username;
    seed.password = password;
    options.seeds.push_back(std::move(seed));
  }
  v = o.Get("tls");
  if (!v.IsUndefined()) {
    // One context for every connection: seeds, masters, probes, MOVED targets (NewLink copies
    // the first seed's endpoint).
    std::shared_ptr<const TlsContext> tls = ReadTls(env, v, "RedisClusterClient");
    if (!tls) return;  // thrown
    for (RedisEndpoint& seed : options.seeds) seed.tls = tls;
  }
  if (!ReadPreload(env, o.Get("preload"), "RedisClusterClient", &options.preload)) return;  // thrown
  options.connect_timeout_ms = OptionalMs(o, "connectTimeout", 1000);
  options.command_timeout_ms = OptionalMs(o, "commandTimeout", 100);
  options.refresh_interval_ms = OptionalMs(o, "slotsRefreshInterval", 5000);
  if (!options.connect_timeout_ms || !options.command_timeout_ms || !options.refresh_interval_ms) {
    range_error("connectTimeout, commandTimeout and slotsRefreshInterval must be 1..86400000 ms");
    return;
  }
  v = o.Get("maxRedirections");
  if (!v.IsUndefined()) {
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 1000) || std::floor(d) != d) {
      range_error("maxRedirections must be an integer 0..1000");
      return;
    }
    options.max_redirections = static_cast<int>(d);
  }
  v = o.Get("onEvent");
  if (v.IsFunction()) on_event_ = Napi::Persistent(v.As<Napi::Function>());

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
    Napi::Error::New(env, "RedisClusterClient: no event loop").ThrowAsJavaScriptException();
    return;
  }
  async_context_ =
      std::make_unique<Napi::AsyncContext>(env, "respcache:RedisClusterClient", Value());
  client_ = new ClusterClient(loop, std::move(options), this);
  napi_add_async_cleanup_hook(env, OnEnvCleanup, this, &cleanup_hook_);
  Ref();  // released in OnClosed
  client_->Connect();
}

RedisClusterClientWrap::~RedisClusterClientWrap() {
  if (client_) {
    client_->DetachListener();
    client_->Abort();
    client_ = nullptr;
  }
  ReleaseHook();
}

void RedisClusterClientWrap::ReleaseHook() {
  if (!cleanup_hook_) return;
  napi_remove_async_cleanup_hook(cleanup_hook_);
  cleanup_hook_ = nullptr;
}

void RedisClusterClientWrap::RemoveCleanupHook(void* handle) {
  napi_remove_async_cleanup_hook(static_cast<napi_async_cleanup_hook_handle>(handle));
}

void RedisClusterClientWrap::OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* self = static_cast<RedisClusterClientWrap*>(arg);
  self->cleanup_hook_ = nullptr;  // removed by RemoveCleanupHook once the handles are closed
  self->env_gone_ = true;
  // The waiters' promises belong to the environment that is going away.
  self->close_waiters_.clear();
  self->refresh_waiters_.clear();
  ClusterClient* client = self->client_;
  if (!client) {
    RemoveCleanupHook(handle);
    return;
  }
  self->client_ = nullptr;
  client->DetachListener();
  client->SetFinishedCallback(RemoveCleanupHook, handle);
  client->Abort();  // every command settles now with kAborted; OnCommandDone touches no JS
}

void RedisClusterClientWrap::EnterLoopEvent() {
  if (env_gone_ || scope_depth_++ > 0) return;
  napi_env env = Env();
  napi_open_handle_scope(env, &handle_scope_);
  napi_open_callback_scope(env, Value(), *async_context_, &callback_scope_);
}

void RedisClusterClientWrap::ExitLoopEvent() {
  if (env_gone_ || --scope_depth_ > 0) return;
  napi_env env = Env();
  // Closing the outermost callback scope runs the microtasks (promise reactions) and nextTicks
  // that this batch of replies queued.
  napi_close_callback_scope(env, callback_scope_);
  napi_close_handle_scope(env, handle_scope_);
  callback_scope_ = nullptr;
  handle_scope_ = nullptr;
}

void RedisClusterClientWrap::Emit(const char* type, size_t argc, const napi_value* args) {
  if (on_event_.IsEmpty() || env_gone_) return;
  napi_env env = Env();
  napi_value argv[3];
  if (argc > 2) argc = 2;
  argv[0] = Napi::String::New(env, type);
  for (size_t i = 0; i < argc; ++i) argv[i + 1] = args[i];
  napi_value fn = on_event_.Value();
  napi_value recv;
  napi_get_undefined(env, &recv);
  napi_value result;
  if (napi_call_function(env, recv, fn, argc + 1, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      // As with any event listener: an exception is the application's, reported as uncaught.
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
}

void RedisClusterClientWrap::OnStateChange(RedisConnection::State state, const std::string& error,
                                           FailureKind kind) {
  if (env_gone_) return;
  Napi::Env env = Env();
  // kConnecting with an error: the first topology could not be read from any seed (the client
  // keeps trying); kReconnecting: a slot has no reachable master. A TLS failure has its own code.
  if (!error.empty() && state != RedisConnection::State::kReady) {
    napi_value err = MakeCodedError(env, FailureCode(kind), error).Value();
    Emit("error", 1, &err);
  }
  if (state == RedisConnection::State::kReady) {
    Emit("ready", 0, nullptr);
  } else if (state == RedisConnection::State::kReconnecting) {
    Emit("reconnecting", 0, nullptr);
  }
}

void RedisClusterClientWrap::OnTopologyChange(uint64_t epoch) {
  if (env_gone_) return;
  Napi::Env env = Env();
  napi_value args[2] = {env.Null(), Napi::Number::New(env, static_cast<double>(epoch))};
  Emit("topology", 2, args);
}

void RedisClusterClientWrap::OnRefreshed(uint64_t generation, bool ok, const std::string& error) {
  if (env_gone_) return;
  SettleRefreshWaiters(generation, ok, kCodeUnavailable,
                       "could not read the cluster's topology from any node (last: " + error + ")");
}

void RedisClusterClientWrap::SettleRefreshWaiters(uint64_t generation, bool ok, const char* code,
                                                  const std::string& error) {
  if (refresh_waiters_.empty()) return;
  Napi::Env env = Env();
  // A refresh that was already under way when refresh() was called may have read the topology
  // before the change the caller wants to see: only a later one settles that call.
  std::vector<napi_deferred> waiters;
  auto kept = refresh_waiters_.begin();
  for (auto& [d, first] : refresh_waiters_) {
    if (generation >= first) waiters.push_back(d); else *kept++ = {d, first};
  }
  refresh_waiters_.erase(kept, refresh_waiters_.end());
  for (napi_deferred d : waiters) {
    if (ok) {
      napi_resolve_deferred(env, d,
                            Napi::Number::New(env, static_cast<double>(client_->topology_epoch())));
    } else {
      napi_reject_deferred(env, d, MakeCodedError(env, code, error).Value());
    }
  }
}

void RedisClusterClientWrap::OnClosed() {
  client_ = nullptr;
  ReleaseHook();
  if (env_gone_) return;
  Napi::Env env = Env();
  std::vector<napi_deferred> waiters;
  waiters.swap(close_waiters_);
  for (napi_deferred d : waiters) napi_resolve_deferred(env, d, env.Undefined());
  Emit("end", 0, nullptr);
  Unref();
}

Napi::Value RedisClusterClientWrap::Status(const Napi::CallbackInfo& info) {
  // Closing: ClusterClient reports kClosed from Close() on, while its links finish.
  return Napi::String::New(info.Env(), client_ ? StateName(client_->state()) : "closed");
}

Napi::Value RedisClusterClientWrap::TopologyEpoch(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           client_ ? static_cast<double>(client_->topology_epoch()) : 0);
}

Napi::Value RedisClusterClientWrap::Masters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!client_) return Napi::Array::New(env, 0);
  std::vector<ClusterClient::Master> masters = client_->Masters();
  Napi::Array out = Napi::Array::New(env, masters.size());
  for (size_t i = 0; i < masters.size(); ++i) {
    const ClusterClient::Master& m = masters[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("addr", Napi::String::New(env, m.addr));
    Napi::Array slots = Napi::Array::New(env, m.slots.size());
    for (size_t j = 0; j < m.slots.size(); ++j) {
      Napi::Array range = Napi::Array::New(env, 2);
      range.Set(0u, Napi::Number::New(env, m.slots[j].first));
      range.Set(1u, Napi::Number::New(env, m.slots[j].second));
      slots.Set(j, range);
    }
    o.Set("slots", slots);
    o.Set("replicas", Napi::Number::New(env, m.online_replicas));
    o.Set("ready", Napi::Boolean::New(env, m.ready));
    out.Set(i, o);
  }
  return out;
}

Napi::Value RedisClusterClientWrap::KeySlot(const Napi::CallbackInfo& info) {
  return KeySlotStatic(info);
}

Napi::Value RedisClusterClientWrap::KeySlotStatic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && info[0].IsBuffer()) {
    auto b = info[0].As<Napi::Buffer<char>>();
    return Napi::Number::New(env, respcache::KeySlot(std::string_view(b.Data(), b.Length())));
  }
  if (info.Length() > 0 && info[0].IsString()) {
    std::string key = info[0].As<Napi::String>().Utf8Value();
    return Napi::Number::New(env, respcache::KeySlot(key));
  }
  Napi::TypeError::New(env, "keySlot(key) expects a string or a Buffer").ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value RedisClusterClientWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  if (!client_) {
    napi_resolve_deferred(env, deferred, env.Undefined());
    return Napi::Value(env, promise);
  }
  close_waiters_.push_back(deferred);
  // A refresh under way is dropped by Close(): its waiters would never hear of it.
  SettleRefreshWaiters(UINT64_MAX, false, kCodeClosed, "the Redis client was closed");
  client_->Close();  // commands waiting for a resend settle now; OnClosed settles the waiters
  return Napi::Value(env, promise);
}

Napi::Value RedisClusterClientWrap::Refresh(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  if (!client_ || client_->state() == RedisConnection::State::kClosed) {
    napi_reject_deferred(env, deferred,
                         MakeCodedError(env, kCodeClosed, "the Redis client is closed").Value());
    return Napi::Value(env, promise);
  }
  refresh_waiters_.emplace_back(deferred, client_->refreshes_started() + 1);
  client_->Refresh();
  return Napi::Value(env, promise);
}

Napi::Value RedisClusterClientWrap::Command(const Napi::CallbackInfo& info) {
  return Send(info, Kind::kRouted);
}

Napi::Value RedisClusterClientWrap::CommandDurable(const Napi::CallbackInfo& info) {
  return Send(info, Kind::kDurable);
}

Napi::Value RedisClusterClientWrap::CommandOnNode(const Napi::CallbackInfo& info) {
  return Send(info, Kind::kOnNode);
}

Napi::Value RedisClusterClientWrap::Send(const Napi::CallbackInfo& info, Kind kind) {
  Napi::Env env = info.Env();
  const char* what = kind == Kind::kRouted    ? "command()"
                     : kind == Kind::kDurable ? "commandDurable()"
                                              : "commandOnNode()";
  // commandOnNode(addr, argv, timeoutMs); the others (argv, timeoutMs, ...).
  const size_t first = kind == Kind::kOnNode ? 1 : 0;
  std::string node;
  if (kind == Kind::kOnNode) {
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "commandOnNode() expects a \"host:port\" string first")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    node = info[0].As<Napi::String>().Utf8Value();
    if (node.empty()) {
      Napi::TypeError::New(env, "commandOnNode() expects a \"host:port\" string first")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  CommandArgv argv;
  if (!ReadArgv(env, info.Length() > first ? info[first] : env.Undefined(), what, &argv)) {
    return env.Undefined();
  }
  uint32_t timeout_ms = 0;
  if (!ReadTimeout(env, info, first + 1, what, &timeout_ms)) return env.Undefined();
  bool flush_now = false;
  int slot = ClusterClient::kAutoSlot;
  if (kind == Kind::kRouted) {
    flush_now = info.Length() > 2 && info[2].ToBoolean().Value();
    if (info.Length() > 3 && info[3].IsNumber()) {
      if (!ReadSlot(env, info[3], what, &slot)) return env.Undefined();
    } else if (info.Length() > 3 && info[3].IsString() &&
               info[3].As<Napi::String>().Utf8Value().size() > 0) {
      node = info[3].As<Napi::String>().Utf8Value();
    } else if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
      Napi::TypeError::New(env, "command(): route must be a slot number or a \"host:port\" string")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  } else if (kind == Kind::kDurable) {
    if (info.Length() > 2 && info[2].IsNumber()) {
      if (!ReadSlot(env, info[2], what, &slot)) return env.Undefined();
    } else if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
      Napi::TypeError::New(env, "commandDurable(): route must be a slot number")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  auto* baton = new CommandBaton{this, deferred};
  const int argc = static_cast<int>(argv.ptrs.size());
  // Any of these may settle synchronously (closed, slot unserved, bad address).
  if (!client_) {
    OnCommandDone(baton, nullptr, CommandError::kClosed, "the Redis client is closed");
  } else if (!node.empty()) {
    client_->CommandOnNode(node, argc, argv.ptrs.data(), argv.lens.data(), timeout_ms,
                           OnCommandDone, baton);
  } else if (kind == Kind::kDurable) {
    client_->CommandDurable(argc, argv.ptrs.data(), argv.lens.data(), timeout_ms, OnCommandDone,
                            baton, slot);
  } else {
    client_->Command(argc, argv.ptrs.data(), argv.lens.data(), timeout_ms, OnCommandDone, baton,
                     slot, flush_now);
  }
  return Napi::Value(env, promise);
}

void RedisClusterClientWrap::OnCommandDone(void* data, redisReply* reply, CommandError error,
                                           const char* message) {
  auto* baton = static_cast<CommandBaton*>(data);
  RedisClusterClientWrap* self = baton->owner;
  napi_deferred deferred = baton->deferred;
  delete baton;
  // The environment is going away: nothing may touch JavaScript now.
  if (error == CommandError::kAborted || self->env_gone_) return;
  SettleCommand(self->Env(), deferred, reply, error, message);
}

}  // namespace respcache
