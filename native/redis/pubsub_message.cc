#include "redis/pubsub_message.h"

#include <hiredis/hiredis.h>
#include <strings.h>

#include <cstring>

namespace respcache {
namespace {

bool IsString(const redisReply* r) { return r->type == REDIS_REPLY_STRING; }

bool Is(const redisReply* r, const char* word) {
  size_t n = std::strlen(word);
  return IsString(r) && r->len == n && strncasecmp(r->str, word, n) == 0;
}

std::string_view View(const redisReply* s) { return std::string_view(s->str, s->len); }

}  // namespace

bool ParsePubSubMessage(const redisReply* r, PubSubMessage* m) {
  if (r->type != REDIS_REPLY_ARRAY) return false;
  redisReply** e = r->element;
  if (r->elements == 3 && Is(e[0], "message") && IsString(e[1]) && IsString(e[2])) {
    m->from_pattern = false;
    m->channel = View(e[1]);
    m->payload = View(e[2]);
    return true;
  }
  if (r->elements == 4 && Is(e[0], "pmessage") && IsString(e[1]) && IsString(e[2]) &&
      IsString(e[3])) {
    m->from_pattern = true;
    m->pattern = View(e[1]);
    m->channel = View(e[2]);
    m->payload = View(e[3]);
    return true;
  }
  return false;
}

}  // namespace respcache
