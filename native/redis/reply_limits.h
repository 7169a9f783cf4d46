// Reply objects for hiredis 0.14's reader with the size of an array capped before it is
// allocated. The stock functions calloc whatever an array header declares ("*1412780923\r\n" asks
// for 11 GB) before a single element arrived, so any peer on a Redis port could make the process
// allocate gigabytes with 13 bytes. With these, a header declaring more than kMaxReplyElements
// fails the reader (the connection is dropped as for any protocol error) and nothing is allocated.
// The objects are hiredis's own redisReply, freed by freeReplyObject as before.
#ifndef RESPCACHE_REDIS_REPLY_LIMITS_H_
#define RESPCACHE_REDIS_REPLY_LIMITS_H_

#include <hiredis/hiredis.h>

#include <string>

namespace respcache {

// No reply the store asks for comes near this (SCAN COUNT 1000, batches of 500).
constexpr int kMaxReplyElements = 1 << 20;

// What a reader that uses the capped functions refused: set by the reader, read after it failed.
struct ReplyLimitState {
  long long refused_elements = -1;  // the declared size of the array refused, or -1
};

// Makes `reader` use the capped functions; `state` (may be null) records a refusal and must
// outlive the reader's use.
void UseCappedReplies(redisReader* reader, ReplyLimitState* state);

// The reason a reader with capped replies failed: its own error text, or the refusal.
std::string ReaderFailure(const char* errstr, const ReplyLimitState& state);

}  // namespace respcache

#endif  // RESPCACHE_REDIS_REPLY_LIMITS_H_
