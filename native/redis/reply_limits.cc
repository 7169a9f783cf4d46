#include "redis/reply_limits.h"

#include <cstdlib>
#include <cstring>

namespace respcache {
namespace {

redisReply* NewReply(int type) {
  auto* r = static_cast<redisReply*>(std::calloc(1, sizeof(redisReply)));
  if (r != nullptr) r->type = type;
  return r;
}

// As hiredis's own functions do: a child is linked into its parent array as it is made.
void* Link(const redisReadTask* task, redisReply* r) {
  if (r != nullptr && task->parent != nullptr) {
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = r;
  }
  return r;
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  redisReply* r = NewReply(task->type);
  if (r == nullptr) return nullptr;
  char* buf = static_cast<char*>(std::malloc(len + 1));
  if (buf == nullptr) {
    freeReplyObject(r);
    return nullptr;
  }
  if (len > 0) std::memcpy(buf, str, len);
  buf[len] = '\0';
  r->str = buf;
  r->len = len;
  return Link(task, r);
}

void* CreateArray(const redisReadTask* task, int elements) {
  if (elements > kMaxReplyElements) {
    if (task->privdata != nullptr) static_cast<ReplyLimitState*>(task->privdata)->refused_elements = elements;
    return nullptr;  // the reader fails ("Out of memory"), having allocated nothing
  }
  redisReply* r = NewReply(REDIS_REPLY_ARRAY);
  if (r == nullptr) return nullptr;
  if (elements > 0) {
    r->element = static_cast<redisReply**>(std::calloc(static_cast<size_t>(elements), sizeof(redisReply*)));
    if (r->element == nullptr) {
      freeReplyObject(r);
      return nullptr;
    }
  }
  r->elements = static_cast<size_t>(elements);
  return Link(task, r);
}

void* CreateInteger(const redisReadTask* task, long long value) {
  redisReply* r = NewReply(REDIS_REPLY_INTEGER);
  if (r == nullptr) return nullptr;
  r->integer = value;
  return Link(task, r);
}

void* CreateNil(const redisReadTask* task) { return Link(task, NewReply(REDIS_REPLY_NIL)); }

void FreeObject(void* reply) { freeReplyObject(reply); }

redisReplyObjectFunctions capped = {CreateString, CreateArray, CreateInteger, CreateNil, FreeObject};

}  // namespace

void UseCappedReplies(redisReader* reader, ReplyLimitState* state) {
  reader->fn = &capped;
  reader->privdata = state;
}

std::string ReaderFailure(const char* errstr, const ReplyLimitState& state) {
  if (state.refused_elements >= 0) {
    return "Redis sent an array of " + std::to_string(state.refused_elements) + " elements, more than the " +
           std::to_string(kMaxReplyElements) + " a reply may have";
  }
  return errstr != nullptr ? errstr : "unknown error";
}

}  // namespace respcache
