#include "binding/single_flight_wrap.h"

#include <cmath>
#include <utility>

namespace respcache {

namespace {

// The same bound as RedisClient's timeouts: a day, far inside uv_now's range.
constexpr double kMaxTimeoutMs = 86400000;

const char* KindName(SingleFlight::OutcomeKind kind) {
  switch (kind) {
    case SingleFlight::OutcomeKind::kValue:
      return "value";
    case SingleFlight::OutcomeKind::kFailed:
      return "failed";
    case SingleFlight::OutcomeKind::kTimeout:
      return "timeout";
    case SingleFlight::OutcomeKind::kAborted:
      return "aborted";
  }
  return "aborted";
}

}  // namespace

Napi::Function SingleFlightWrap::Define(Napi::Env env) {
  return DefineClass(env, "SingleFlight",
                     {InstanceMethod<&SingleFlightWrap::Join>("join"),
                      InstanceMethod<&SingleFlightWrap::Complete>("complete"),
                      InstanceMethod<&SingleFlightWrap::Fail>("fail"),
                      InstanceAccessor<&SingleFlightWrap::Size>("size")});
}

SingleFlightWrap::SingleFlightWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<SingleFlightWrap>(info) {
  Napi::Env env = info.Env();
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok || !loop_) {
    Napi::Error::New(env, "SingleFlight: no event loop").ThrowAsJavaScriptException();
    return;
  }
  timer_ = new Timer();
  uv_timer_init(loop_, &timer_->handle);
  timer_->handle.data = timer_;
  timer_->owner = this;
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "respcache:SingleFlight", Value());
  napi_add_async_cleanup_hook(env, OnEnvCleanup, timer_, &timer_->hook);
}

SingleFlightWrap::~SingleFlightWrap() {
  // Reached through garbage collection, which cannot happen while a follower waits (Rearm holds a
  // reference then), or through teardown after OnEnvCleanup has already answered everyone. Either
  // way no promise is left to settle, and a finalizer must not build JavaScript values anyway.
  env_gone_ = true;
  table_.AbortAll();
  if (timer_) {
    timer_->owner = nullptr;
    CloseTimer(timer_);  // the close callback removes the cleanup hook
    timer_ = nullptr;
  }
}

void SingleFlightWrap::CloseTimer(Timer* timer) {
  if (timer->closing) return;
  timer->closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer->handle), OnTimerClosed);
}

void SingleFlightWrap::OnTimerClosed(uv_handle_t* handle) {
  auto* timer = static_cast<Timer*>(handle->data);
  if (timer->hook) napi_remove_async_cleanup_hook(timer->hook);
  delete timer;
}

void SingleFlightWrap::OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* timer = static_cast<Timer*>(arg);
  timer->hook = handle;
  if (SingleFlightWrap* self = timer->owner) {
    // JavaScript is gone: the followers' promises go with it, unsettled.
    self->env_gone_ = true;
    self->table_.AbortAll();
    self->timer_ = nullptr;
    timer->owner = nullptr;
  }
  CloseTimer(timer);  // or already closing after the wrapper's destructor
}

void SingleFlightWrap::OnTimer(uv_timer_t* handle) {
  auto* timer = static_cast<Timer*>(handle->data);
  SingleFlightWrap* self = timer->owner;
  if (!self || self->env_gone_) return;
  self->armed_for_.reset();  // a one-shot timer that has fired is stopped
  napi_env env = self->Env();
  napi_handle_scope handle_scope;
  napi_open_handle_scope(env, &handle_scope);
  napi_value resource = self->Value();  // held strongly: followers are waiting
  if (!resource) resource = Napi::Object::New(env);
  napi_callback_scope callback_scope;
  napi_open_callback_scope(env, resource, *self->async_context_, &callback_scope);
  self->table_.Expire(uv_now(self->loop_));
  self->Rearm();
  // Closing the callback scope runs the promise reactions that the timeouts queued. `self` may
  // be released from here on.
  napi_close_callback_scope(env, callback_scope);
  napi_close_handle_scope(env, handle_scope);
}

void SingleFlightWrap::Rearm() {
  if (!timer_ || env_gone_) return;
  std::optional<uint64_t> next = table_.NextDeadline();
  if (!next) {
    if (armed_for_) {
      uv_timer_stop(&timer_->handle);
      armed_for_.reset();
    }
    if (holding_) {
      holding_ = false;
      Unref();
    }
    return;
  }
  if (armed_for_ != next) {
    uint64_t now = uv_now(loop_);
    uv_timer_start(&timer_->handle, OnTimer, *next > now ? *next - now : 0, 0);
    armed_for_ = next;
  }
  if (!holding_) {
    holding_ = true;
    Ref();
  }
}

void SingleFlightWrap::Settle(napi_deferred deferred, const SingleFlight::Outcome& outcome) {
  if (env_gone_) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);  // complete() may answer thousands in one call
  Napi::Object result = Napi::Object::New(env);
  result.Set("kind", KindName(outcome.kind));
  if (outcome.kind == SingleFlight::OutcomeKind::kValue) {
    napi_value payload;
    if (outcome.payload && outcome.payload.get() == delivering_bytes_) {
      payload = delivering_buffer_;
    } else if (outcome.payload) {
      payload = Napi::Buffer<char>::Copy(env, outcome.payload->data(), outcome.payload->size());
    } else {
      payload = Napi::Buffer<char>::New(env, 0);
    }
    result.Set("payload", payload);
  }
  napi_resolve_deferred(env, deferred, result);
}

bool SingleFlightWrap::ReadKey(const Napi::CallbackInfo& info, const char* method,
                               std::string* key) {
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(info.Env(), std::string(method) + "(): key must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  *key = info[0].As<Napi::String>().Utf8Value();
  return true;
}

Napi::Value SingleFlightWrap::Join(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string key;
  if (!ReadKey(info, "join", &key)) return env.Undefined();
  double timeout_ms = info.Length() > 1 && info[1].IsNumber()
                          ? std::ceil(info[1].As<Napi::Number>().DoubleValue())
                          : -1;
  if (!(timeout_ms >= 1 && timeout_ms <= kMaxTimeoutMs)) {
    Napi::RangeError::New(env, "join(): timeoutMs must be a number of milliseconds, 1..86400000")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!timer_) {
    Napi::Error::New(env, "SingleFlight: the environment is shutting down")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // A promise only for a follower: the leader (most requests) gets null and costs no allocation
  // on the JavaScript heap.
  if (!table_.InFlight(key)) {
    table_.Join(key, 0, nullptr);
    return env.Null();
  }
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return env.Undefined();
  // The loop's clock as of now, not as of the start of this loop turn (setTimeout does the same),
  // so a wait is never cut short by the JavaScript that ran before it.
  uv_update_time(loop_);
  uint64_t deadline_ms = uv_now(loop_) + static_cast<uint64_t>(timeout_ms);
  table_.Join(key, deadline_ms,
              [this, deferred](const SingleFlight::Outcome& o) { Settle(deferred, o); });
  Rearm();
  return Napi::Value(env, promise);
}

Napi::Value SingleFlightWrap::Complete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string key;
  if (!ReadKey(info, "complete", &key)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "complete(): payload must be a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (table_.Waiting(key) == 0) {
    // Nobody waits: end the flight without copying anything.
    return Napi::Number::New(env, static_cast<double>(table_.Complete(key, nullptr)));
  }
  auto source = info[1].As<Napi::Buffer<char>>();
  // One copy, so the leader may reuse its own Buffer; then one JavaScript Buffer over that copy,
  // made here once and handed to every follower.
  auto bytes = std::make_shared<const std::string>(source.Data(), source.Length());
  auto* keep = new std::shared_ptr<const std::string>(bytes);
  napi_value shared;
  napi_status status = napi_create_external_buffer(
      env, bytes->size(), const_cast<char*>(bytes->data()),
      [](napi_env, void*, void* hint) { delete static_cast<std::shared_ptr<const std::string>*>(hint); },
      keep, &shared);
  if (status != napi_ok) {
    // Runtimes without external buffers (a V8 sandbox) get a copy instead.
    delete keep;
    status = napi_create_buffer_copy(env, bytes->size(), bytes->data(), nullptr, &shared);
  }
  if (status != napi_ok) {
    table_.Fail(key);  // the followers run their own handlers rather than wait for nothing
    Rearm();
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "complete(): could not allocate the payload").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  delivering_bytes_ = bytes.get();
  delivering_buffer_ = shared;
  size_t served = table_.Complete(key, std::move(bytes));
  delivering_bytes_ = nullptr;
  delivering_buffer_ = nullptr;
  Rearm();
  return Napi::Number::New(env, static_cast<double>(served));
}

Napi::Value SingleFlightWrap::Fail(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string key;
  if (!ReadKey(info, "fail", &key)) return env.Undefined();
  size_t told = table_.Fail(key);
  Rearm();
  return Napi::Number::New(env, static_cast<double>(told));
}

Napi::Value SingleFlightWrap::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table_.Size()));
}

}  // namespace respcache
