// The capped reply functions (native/redis/reply_limits.h): the same replies as hiredis's own
// functions for everything below the cap, a refusal without allocation above it, and a
// connection that drops a peer declaring a huge array with a reason that says so.
#include "redis/reply_limits.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <functional>
#include <memory>
#include <string>

#include "redis/redis_connection.h"
#include "support/fake_redis_server.h"
#include "support/test_loop.h"

namespace respcache::testing {
namespace {

using namespace std::chrono_literals;
using State = RedisConnection::State;

// A reply rendered as text, to compare two readers' results.
std::string Render(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < r->elements; ++i) out += Render(r->element[i]) + ",";
      return out + "]";
    }
    case REDIS_REPLY_INTEGER: return "i" + std::to_string(r->integer);
    case REDIS_REPLY_NIL: return "nil";
    default: return std::to_string(r->type) + ":" + std::string(r->str, r->len) + "/" + std::to_string(r->len);
  }
}

struct Parsed {
  bool ok = true;
  std::string text;
  std::string error;
};

Parsed Parse(const std::string& bytes, bool capped, ReplyLimitState* state) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  if (capped) UseCappedReplies(reader.get(), state);
  Parsed out;
  redisReaderFeed(reader.get(), bytes.data(), bytes.size());
  for (;;) {
    void* r = nullptr;
    if (redisReaderGetReply(reader.get(), &r) != REDIS_OK) {
      out.ok = false;
      out.error = reader->errstr;
      return out;
    }
    if (r == nullptr) return out;
    out.text += Render(static_cast<redisReply*>(r)) + ";";
    freeReplyObject(r);
  }
}

TEST(ReplyLimits, BuildTheSameRepliesAsHiredisBelowTheCap) {
  const std::string bytes = std::string("+OK\r\n-ERR no\r\n:42\r\n$-1\r\n*-1\r\n$0\r\n\r\n$3\r\na\0b\r\n", 44) +
                            "*0\r\n*3\r\n:1\r\n*2\r\n$1\r\nx\r\n*1\r\n$-1\r\n+s\r\n";
  ReplyLimitState state;
  const Parsed stock = Parse(bytes, false, nullptr);
  const Parsed capped = Parse(bytes, true, &state);
  ASSERT_TRUE(stock.ok) << stock.error;
  ASSERT_TRUE(capped.ok) << capped.error;
  EXPECT_EQ(capped.text, stock.text);
  EXPECT_NE(capped.text.find("[i1,[1:x/1,[nil,],],5:s/1,]"), std::string::npos) << capped.text;
  EXPECT_EQ(state.refused_elements, -1);
}

TEST(ReplyLimits, AcceptAnArrayAtTheCap) {
  std::string bytes = "*" + std::to_string(kMaxReplyElements) + "\r\n";
  for (int i = 0; i < kMaxReplyElements; ++i) bytes += ":1\r\n";
  ReplyLimitState state;
  const Parsed capped = Parse(bytes, true, &state);
  ASSERT_TRUE(capped.ok) << capped.error;
  EXPECT_EQ(state.refused_elements, -1);
}

TEST(ReplyLimits, RefuseAHugeArrayHeaderBeforeAnyElement) {
  for (const std::string& bytes : {std::string("*1412780923\r\n"), "*" + std::to_string(kMaxReplyElements + 1) + "\r\n",
                                   std::string("*2\r\n:1\r\n*2147483647\r\n")}) {
    ReplyLimitState state;
    const Parsed capped = Parse(bytes, true, &state);
    EXPECT_FALSE(capped.ok) << bytes;
    EXPECT_GT(state.refused_elements, kMaxReplyElements) << bytes;
    EXPECT_EQ(ReaderFailure("Out of memory", state),
              "Redis sent an array of " + std::to_string(state.refused_elements) + " elements, more than the " +
                  std::to_string(kMaxReplyElements) + " a reply may have");
  }
  EXPECT_EQ(ReaderFailure("Protocol error, got \"x\"", ReplyLimitState()), "Protocol error, got \"x\"");
}

TEST(ReplyLimits, AConnectionDropsAPeerThatDeclaresAHugeArray) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    Command cmd;
    if (c.Read(&cmd)) c.Write("*1412780923\r\n");
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  EXPECT_EQ(get->error, CommandError::kUnavailable);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error,
            "lost the connection to Redis: Redis sent an array of 1412780923 elements, more than the 1048576 a "
            "reply may have");
  // The next connection serves again.
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  auto echo = client.Issue({"ECHO", "again"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->str, "again");
}

}  // namespace
}  // namespace respcache::testing
