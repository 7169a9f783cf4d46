// How a command's outcome reaches JavaScript, the same for RedisClient and RedisClusterClient:
// one conversion of replies and one mapping of failures to ERR_RESPCACHE_* codes, so the two
// clients settle their promises with exactly the same values.
#pragma once

#include <hiredis/hiredis.h>
#include <napi.h>

#include "redis/redis_connection.h"

namespace respcache {

// The JavaScript value of a reply: bulk strings as Buffers, status replies as strings, integers
// as numbers, nil as null, arrays as arrays, error replies (inside an array) as
// ERR_RESPCACHE_REDIS_REPLY errors. A large bulk string's memory passes to its Buffer: r->str is
// then null, which freeReplyObject accepts. Call it only inside the reply's callback.
napi_value ReplyToJs(Napi::Env env, redisReply* r);

// Settles a command's promise: resolved with the reply, rejected with ERR_RESPCACHE_REDIS_REPLY
// for an error reply, or with the failure's code and `message` (null reads as empty).
// Preconditions: the environment is alive and `error` is not kAborted (nothing may touch
// JavaScript then; the caller just drops the deferred); `reply` is non-null when error is kNone.
void SettleCommand(Napi::Env env, napi_deferred deferred, redisReply* reply, CommandError error,
                   const char* message);

}  // namespace respcache
