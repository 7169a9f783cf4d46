#include "binding/redis_replies.h"

#include <cstdlib>
#include <string>

#include "binding/coded_error.h"

namespace respcache {

namespace {

// Replies at least this large are handed to JavaScript without a copy: the Buffer takes over the
// string hiredis allocated. Smaller ones are cheaper to copy than to track as external memory.
constexpr size_t kStealThreshold = 16 * 1024;

const char* ErrorCode(CommandError error) {
  switch (error) {
    case CommandError::kTimeout: return kCodeTimeout;
    case CommandError::kClosed: return kCodeClosed;
    case CommandError::kUnconfirmed: return kCodeUnconfirmed;  // RedisClusterClient only
    default: return kCodeUnavailable;
  }
}

}  // namespace

napi_value ReplyToJs(Napi::Env env, redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING: {
      if (r->len >= kStealThreshold) {
        char* s = r->str;
        r->str = nullptr;  // freeReplyObject frees r->str with free(); now the Buffer does
        return Napi::Buffer<char>::New(env, s, r->len, [](Napi::Env, char* d) { std::free(d); });
      }
      return Napi::Buffer<char>::Copy(env, r->str, r->len);
    }
    case REDIS_REPLY_STATUS:
      return Napi::String::New(env, r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return Napi::Number::New(env, static_cast<double>(r->integer));
    case REDIS_REPLY_NIL:
      return env.Null();
    case REDIS_REPLY_ERROR:
      return MakeCodedError(env, kCodeReply, std::string(r->str, r->len)).Value();
    case REDIS_REPLY_ARRAY: {
      Napi::Array a = Napi::Array::New(env, r->elements);
      for (size_t i = 0; i < r->elements; ++i) a.Set(i, ReplyToJs(env, r->element[i]));
      return a;
    }
  }
  return env.Undefined();
}

void SettleCommand(Napi::Env env, napi_deferred deferred, redisReply* reply, CommandError error,
                   const char* message) {
  if (error == CommandError::kNone) {
    if (reply->type == REDIS_REPLY_ERROR) {
      napi_reject_deferred(
          env, deferred,
          MakeCodedError(env, kCodeReply, std::string(reply->str, reply->len)).Value());
    } else {
      napi_resolve_deferred(env, deferred, ReplyToJs(env, reply));
    }
    return;
  }
  napi_reject_deferred(env, deferred,
                       MakeCodedError(env, ErrorCode(error), message ? message : "").Value());
}

}  // namespace respcache
