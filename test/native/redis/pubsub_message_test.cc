#include "redis/pubsub_message.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

namespace respcache {
namespace {

// Parses RESP bytes with hiredis's own reader, as the connection receives them.
struct Parsed {
  redisReply* reply = nullptr;
  ~Parsed() {
    if (reply) freeReplyObject(reply);
  }
};

void Parse(const std::string& bytes, Parsed* out) {
  redisReader* reader = redisReaderCreate();
  ASSERT_EQ(redisReaderFeed(reader, bytes.data(), bytes.size()), REDIS_OK);
  void* reply = nullptr;
  ASSERT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  redisReaderFree(reader);
  ASSERT_NE(reply, nullptr);
  out->reply = static_cast<redisReply*>(reply);
}

TEST(ParsePubSubMessage, ReadsAChannelMessage) {
  Parsed q;
  static const char kBytes[] = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhel\0o\r\n";
  Parse(std::string(kBytes, sizeof kBytes - 1), &q);
  PubSubMessage m;
  ASSERT_TRUE(ParsePubSubMessage(q.reply, &m));
  EXPECT_FALSE(m.from_pattern);
  EXPECT_EQ(m.channel, "ch");
  EXPECT_EQ(m.payload, std::string("hel\0o", 5));
}

TEST(ParsePubSubMessage, ReadsAPatternMessageCaseInsensitively) {
  Parsed p;
  Parse("*4\r\n$8\r\nPMessage\r\n$2\r\nc*\r\n$3\r\ncat\r\n$1\r\nx\r\n", &p);
  PubSubMessage m;
  ASSERT_TRUE(ParsePubSubMessage(p.reply, &m));
  EXPECT_TRUE(m.from_pattern);
  EXPECT_EQ(m.pattern, "c*");
  EXPECT_EQ(m.channel, "cat");
  EXPECT_EQ(m.payload, "x");
}

TEST(ParsePubSubMessage, RefusesConfirmationsAndOtherShapes) {
  const char* not_messages[] = {
      "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",          // a confirmation
      "*2\r\n$4\r\npong\r\n$0\r\n\r\n",                        // PING while subscribed
      "*4\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n$1\r\ny\r\n",  // wrong arity
      "*3\r\n$7\r\nmessage\r\n:5\r\n$1\r\nx\r\n",              // channel not a string
      "*3\r\n+message\r\n$2\r\nch\r\n$1\r\nx\r\n",             // status, not bulk
      "*4\r\n$8\r\npmessage\r\n$1\r\np\r\n$1\r\nc\r\n$-1\r\n",  // nil payload
      "$7\r\nmessage\r\n",                                      // not an array
  };
  for (const char* bytes : not_messages) {
    Parsed p;
    Parse(bytes, &p);
    PubSubMessage m;
    EXPECT_FALSE(ParsePubSubMessage(p.reply, &m)) << bytes;
  }
}

}  // namespace
}  // namespace respcache
