#include "binding/coded_error.h"

namespace respcache {

void SetErrorFactory(Napi::Env env, Napi::Function factory) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data) {
    data = new AddonData();
    env.SetInstanceData<AddonData>(data);
  }
  data->error_factory = Napi::Persistent(factory);
}

Napi::Error MakeCodedError(Napi::Env env, const char* code, const std::string& message) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data && !data->error_factory.IsEmpty()) {
    Napi::Value made = data->error_factory.Call(
        {Napi::String::New(env, code), Napi::String::New(env, message)});
    if (!env.IsExceptionPending() && made.IsObject()) return Napi::Error(env, made);
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

}  // namespace respcache
