// Recognises a message Redis pushes to a subscriber connection among its replies.
#pragma once
#include <string_view>

struct redisReply;

namespace respcache {

// A published message; the views point into the reply and live only as long as it does.
struct PubSubMessage {
  std::string_view channel;
  std::string_view payload;
  std::string_view pattern;  // the matching pattern, for a pattern subscription's message
  bool from_pattern = false;
};

// True, filling *m, when `r` is ["message", channel, payload] or ["pmessage", pattern, channel,
// payload] (the first element case-insensitive, every element a bulk string). No command a
// subscriber connection sends is answered with an array of this shape.
bool ParsePubSubMessage(const redisReply* r, PubSubMessage* m);

}  // namespace respcache
