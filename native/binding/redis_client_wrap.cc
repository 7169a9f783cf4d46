#include "binding/redis_client_wrap.h"

#include <hiredis/hiredis.h>

#include <string>

#include "binding/redis_options.h"
#include "binding/redis_replies.h"

namespace respcache {

struct RedisClientWrap::CommandBaton {
  RedisClientWrap* owner;
  napi_deferred deferred;
  bool unsubscribe = false;
};

Napi::Function RedisClientWrap::Define(Napi::Env env) {
  return DefineClass(env, "RedisClient",
                     {InstanceMethod<&RedisClientWrap::Command>("command"),
                      InstanceMethod<&RedisClientWrap::Subscribe>("subscribe"),
                      InstanceMethod<&RedisClientWrap::Unsubscribe>("unsubscribe"),
                      InstanceMethod<&RedisClientWrap::PSubscribe>("psubscribe"),
                      InstanceMethod<&RedisClientWrap::PUnsubscribe>("punsubscribe"),
                      InstanceMethod<&RedisClientWrap::Close>("close"),
                      InstanceMethod<&RedisClientWrap::Retarget>("retarget"),
                      InstanceAccessor<&RedisClientWrap::Status>("status"),
                      InstanceAccessor<&RedisClientWrap::Replicas>("replicas")});
}

RedisClientWrap::RedisClientWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<RedisClientWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "RedisClient expects an options object").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  RedisConnection::Options options;
  RedisEndpoint& e = options.endpoint;
  Napi::Value v = o.Get("host");
  if (v.IsString()) e.host = v.As<Napi::String>().Utf8Value();
  v = o.Get("port");
  if (v.IsNumber()) e.port = v.As<Napi::Number>().Int32Value();
  v = o.Get("path");
  if (v.IsString()) e.path = v.As<Napi::String>().Utf8Value();
  v = o.Get("username");
  if (v.IsString()) e.username = v.As<Napi::String>().Utf8Value();
  v = o.Get("password");
  if (v.IsString()) e.password = v.As<Napi::String>().Utf8Value();
  v = o.Get("db");
  if (v.IsNumber()) e.db = v.As<Napi::Number>().Int32Value();
  if (e.port < 1 || e.port > 65535 || e.db < 0) {
    Napi::RangeError::New(env, "RedisClient: port must be 1..65535 and db at least 0")
        .ThrowAsJavaScriptException();
    return;
  }
  options.connect_timeout_ms = OptionalMs(o, "connectTimeout", 1000);
  options.command_timeout_ms = OptionalMs(o, "commandTimeout", 100);
  if (!options.connect_timeout_ms || !options.command_timeout_ms) {
    Napi::RangeError::New(env, "RedisClient: connectTimeout and commandTimeout must be 1..86400000 ms")
        .ThrowAsJavaScriptException();
    return;
  }
  v = o.Get("onEvent");
  if (v.IsFunction()) on_event_ = Napi::Persistent(v.As<Napi::Function>());
  v = o.Get("subscriber");
  if (!v.IsUndefined() && !v.IsBoolean()) {
    Napi::TypeError::New(env, "RedisClient: the \"subscriber\" option must be a boolean")
        .ThrowAsJavaScriptException();
    return;
  }
  subscriber_ = v.IsBoolean() && v.As<Napi::Boolean>().Value();
  options.subscriber = subscriber_;
  v = o.Get("expectMaster");
  if (!v.IsUndefined() && !v.IsBoolean()) {
    Napi::TypeError::New(env, "RedisClient: the \"expectMaster\" option must be a boolean")
        .ThrowAsJavaScriptException();
    return;
  }
  options.expect_master = v.IsBoolean() && v.As<Napi::Boolean>().Value();
  if (!ReadPreload(env, o.Get("preload"), "RedisClient", &options.preload)) return;  // thrown
  v = o.Get("tls");
  if (!v.IsUndefined()) {
    e.tls = ReadTls(env, v, "RedisClient");
    if (!e.tls) return;  // thrown
  }

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
    Napi::Error::New(env, "RedisClient: no event loop").ThrowAsJavaScriptException();
    return;
  }
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "respcache:RedisClient", Value());
  conn_ = new RedisConnection(loop, std::move(options), this);
  napi_add_async_cleanup_hook(env, OnEnvCleanup, this, &cleanup_hook_);
  Ref();  // released in OnClosed
  conn_->Connect();
}

RedisClientWrap::~RedisClientWrap() {
  if (conn_) {
    conn_->DetachListener();
    conn_->Abort();
    conn_ = nullptr;
  }
  ReleaseHook();
}

void RedisClientWrap::ReleaseHook() {
  if (!cleanup_hook_) return;
  napi_remove_async_cleanup_hook(cleanup_hook_);
  cleanup_hook_ = nullptr;
}

void RedisClientWrap::RemoveCleanupHook(void* handle) {
  napi_remove_async_cleanup_hook(static_cast<napi_async_cleanup_hook_handle>(handle));
}

void RedisClientWrap::OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* self = static_cast<RedisClientWrap*>(arg);
  self->cleanup_hook_ = nullptr;  // removed by RemoveCleanupHook once the handles are closed
  self->env_gone_ = true;
  RedisConnection* conn = self->conn_;
  if (!conn) {
    RemoveCleanupHook(handle);
    return;
  }
  self->conn_ = nullptr;
  conn->DetachListener();
  conn->SetFinishedCallback(RemoveCleanupHook, handle);
  conn->Abort();
}

void RedisClientWrap::EnterLoopEvent() {
  if (env_gone_ || scope_depth_++ > 0) return;
  napi_env env = Env();
  napi_open_handle_scope(env, &handle_scope_);
  napi_open_callback_scope(env, Value(), *async_context_, &callback_scope_);
}

void RedisClientWrap::ExitLoopEvent() {
  if (env_gone_ || --scope_depth_ > 0) return;
  napi_env env = Env();
  // Closing the outermost callback scope runs the microtasks (promise reactions) and nextTicks
  // that this batch of replies queued.
  napi_close_callback_scope(env, callback_scope_);
  napi_close_handle_scope(env, handle_scope_);
  callback_scope_ = nullptr;
  handle_scope_ = nullptr;
}

void RedisClientWrap::Emit(const char* type, napi_value arg) {
  napi_value a = arg ? arg : Env().Undefined();
  EmitArgs(type, 1, &a);
}

void RedisClientWrap::EmitArgs(const char* type, size_t argc, const napi_value* args) {
  if (on_event_.IsEmpty() || env_gone_) return;
  napi_env env = Env();
  napi_value argv[5];
  if (argc > 4) argc = 4;
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

void RedisClientWrap::OnStateChange(RedisConnection::State state, const std::string& error,
                                    FailureKind kind) {
  if (env_gone_) return;
  Napi::Env env = Env();
  if (state == RedisConnection::State::kReady) {
    Emit("ready", nullptr);
  } else if (state == RedisConnection::State::kReconnecting) {
    if (!error.empty()) Emit("error", MakeCodedError(env, FailureCode(kind), error).Value());
    Emit("reconnecting", nullptr);
  }
}

void RedisClientWrap::OnMessage(const RedisConnection::Message& m) {
  if (env_gone_ || !conn_) return;
  Napi::Env env = Env();
  auto buffer = [&](std::string_view s) {
    return static_cast<napi_value>(Napi::Buffer<char>::Copy(env, s.data(), s.size()));
  };
  napi_value args[4] = {env.Null(), buffer(m.channel), buffer(m.payload), nullptr};
  if (m.from_pattern) {
    args[3] = buffer(m.pattern);
    EmitArgs("pmessage", 4, args);
  } else {
    EmitArgs("message", 3, args);
  }
}

void RedisClientWrap::OnClosed() {
  conn_ = nullptr;
  ReleaseHook();
  if (env_gone_) return;
  Napi::Env env = Env();
  std::vector<napi_deferred> waiters;
  waiters.swap(close_waiters_);
  for (napi_deferred d : waiters) napi_resolve_deferred(env, d, env.Undefined());
  Emit("end", nullptr);
  Unref();
}

Napi::Value RedisClientWrap::Status(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), conn_ ? StateName(conn_->state()) : "closed");
}

Napi::Value RedisClientWrap::Replicas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = conn_ ? conn_->connected_replicas() : -1;
  return n < 0 ? env.Null() : Napi::Number::New(env, n);
}

Napi::Value RedisClientWrap::Retarget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object target = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>()
                                                               : Napi::Object();
  Napi::Value host = target.IsEmpty() ? env.Undefined() : target.Get("host");
  Napi::Value port = target.IsEmpty() ? env.Undefined() : target.Get("port");
  double p = port.IsNumber() ? port.As<Napi::Number>().DoubleValue() : 0;
  if (!host.IsString() || host.As<Napi::String>().Utf8Value().empty() || !(p >= 1 && p <= 65535) ||
      p != static_cast<int>(p)) {
    Napi::TypeError::New(env, "retarget() expects { host: string, port: 1..65535 }")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!conn_) return env.Undefined();  // closed: nothing to move
  // Credentials, db and the TLS context carry over: the new server is the same deployment's.
  RedisEndpoint e = conn_->endpoint();
  e.host = host.As<Napi::String>().Utf8Value();
  e.port = static_cast<int>(p);
  e.path.clear();
  conn_->Retarget(e);
  return env.Undefined();
}

Napi::Value RedisClientWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  if (!conn_) {
    napi_resolve_deferred(env, deferred, env.Undefined());
    return Napi::Value(env, promise);
  }
  close_waiters_.push_back(deferred);
  conn_->Close();  // may finish synchronously later in the loop; OnClosed settles the waiters
  return Napi::Value(env, promise);
}

Napi::Value RedisClientWrap::Command(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array args;
  if (!ReadCommandArray(env, info[0], "command()", &args)) return env.Undefined();
  uint32_t timeout_ms = 0;
  if (!ReadTimeout(env, info, 1, "command()", &timeout_ms)) return env.Undefined();
  bool flush_now = info.Length() > 2 && info[2].ToBoolean().Value();
  {
    Napi::Value name = args.Get(0u);
    std::string text;
    const char* data = nullptr;
    size_t len = 0;
    if (name.IsBuffer()) {
      data = name.As<Napi::Buffer<char>>().Data();
      len = name.As<Napi::Buffer<char>>().Length();
    } else if (name.IsString()) {
      text = name.As<Napi::String>().Utf8Value();
      data = text.data();
      len = text.size();
    }
    if (subscriber_ && !(data && NameIs(data, len, "PING"))) {
      Napi::TypeError::New(env, "command(): a subscriber client only sends PING; use subscribe(), "
                                "unsubscribe(), psubscribe() and punsubscribe()")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // Pub/sub goes through a client created with `subscriber: true`.
    if (!subscriber_ && data && IsModeCommand(data, len)) {
      Napi::TypeError::New(env, "command(): " + std::string(data, len) +
                                    " needs a client created with { subscriber: true }")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  CommandArgv argv;
  if (!ReadCommandArgv(env, args, "command()", &argv)) return env.Undefined();
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  auto* baton = new CommandBaton{this, deferred};
  if (!conn_) {
    OnCommandDone(baton, nullptr, CommandError::kClosed, "the Redis client is closed");
  } else {
    conn_->Command(static_cast<int>(argv.ptrs.size()), argv.ptrs.data(), argv.lens.data(),
                   timeout_ms, OnCommandDone, baton, flush_now);
  }
  return Napi::Value(env, promise);
}

Napi::Value RedisClientWrap::Subscribe(const Napi::CallbackInfo& info) {
  return PubSub(info, RedisConnection::PubSubOp::kSubscribe, "subscribe(channel)");
}

Napi::Value RedisClientWrap::Unsubscribe(const Napi::CallbackInfo& info) {
  return PubSub(info, RedisConnection::PubSubOp::kUnsubscribe, "unsubscribe(channel)");
}

Napi::Value RedisClientWrap::PSubscribe(const Napi::CallbackInfo& info) {
  return PubSub(info, RedisConnection::PubSubOp::kPSubscribe, "psubscribe(pattern)");
}

Napi::Value RedisClientWrap::PUnsubscribe(const Napi::CallbackInfo& info) {
  return PubSub(info, RedisConnection::PubSubOp::kPUnsubscribe, "punsubscribe(pattern)");
}

Napi::Value RedisClientWrap::PubSub(const Napi::CallbackInfo& info, RedisConnection::PubSubOp op,
                                    const char* what) {
  Napi::Env env = info.Env();
  if (!subscriber_) {
    Napi::TypeError::New(env, std::string(what) + " needs a client created with { subscriber: true }")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name;
  if (info.Length() > 0 && info[0].IsBuffer()) {
    auto b = info[0].As<Napi::Buffer<char>>();
    name.assign(b.Data(), b.Length());
  } else if (info.Length() > 0 && info[0].IsString()) {
    name = info[0].As<Napi::String>().Utf8Value();
  } else {
    Napi::TypeError::New(env, std::string(what) + " expects a string or a Buffer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  auto* baton = new CommandBaton{this, deferred};
  baton->unsubscribe = op == RedisConnection::PubSubOp::kUnsubscribe ||
                       op == RedisConnection::PubSubOp::kPUnsubscribe;
  if (!conn_) {
    OnPubSubDone(baton, nullptr, CommandError::kClosed, "the Redis client is closed");
  } else {
    conn_->PubSub(op, name, OnPubSubDone, baton);
  }
  return Napi::Value(env, promise);
}

void RedisClientWrap::OnPubSubDone(void* data, redisReply* reply, CommandError error,
                                   const char* message) {
  auto* baton = static_cast<CommandBaton*>(data);
  // Unsubscribing needs no answer when there is no connection: nothing is subscribed then, and
  // the name has already left the set that a new connection subscribes.
  bool done = (error == CommandError::kNone && reply->type != REDIS_REPLY_ERROR) ||
              (baton->unsubscribe && error == CommandError::kUnavailable);
  if (!done) {
    OnCommandDone(data, reply, error, message);  // rejections, exactly as for command()
    return;
  }
  RedisClientWrap* self = baton->owner;
  napi_deferred deferred = baton->deferred;
  delete baton;
  if (self->env_gone_) return;
  napi_resolve_deferred(self->Env(), deferred, self->Env().Undefined());
}

void RedisClientWrap::OnCommandDone(void* data, redisReply* reply, CommandError error,
                                    const char* message) {
  auto* baton = static_cast<CommandBaton*>(data);
  RedisClientWrap* self = baton->owner;
  napi_deferred deferred = baton->deferred;
  delete baton;
  // The environment is going away: nothing may touch JavaScript now.
  if (error == CommandError::kAborted || self->env_gone_) return;
  SettleCommand(self->Env(), deferred, reply, error, message);
}

}  // namespace respcache
