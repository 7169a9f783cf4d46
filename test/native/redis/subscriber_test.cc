// A subscriber RedisConnection against the fake RESP server: resubscription on every new
// connection, messages, and replies that pair with no command.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <string>
#include <vector>

#include "redis/redis_connection.h"
#include "support/fake_redis_server.h"
#include "support/test_loop.h"

namespace respcache::testing {
namespace {

using namespace std::chrono_literals;
using State = RedisConnection::State;
using Op = RedisConnection::PubSubOp;

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string Confirm(const std::string& kind, const std::string& name, int count) {
  return "*3\r\n" + Bulk(kind) + Bulk(name) + ":" + std::to_string(count) + "\r\n";
}

RedisConnection::Options Subscriber(int port) {
  RedisConnection::Options o = Client::Tcp(port, 2000);
  o.subscriber = true;
  return o;
}

TEST(Subscriber, DeliversMessagesAndPairsAPingBetweenThem) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    Command cmd;
    if (!c.Read(&cmd) || !c.Write(Confirm("subscribe", "news", 1))) return;
    if (!c.Read(&cmd) || !c.Write(Confirm("psubscribe", "p*", 2))) return;
    if (!c.Read(&cmd)) return;  // PING: a message first, then its answer, then another message
    c.Write("*3\r\n" + Bulk("message") + Bulk("news") + Bulk("hello") +
            "*2\r\n" + Bulk("pong") + Bulk("") +
            "*4\r\n" + Bulk("pmessage") + Bulk("p*") + Bulk("pq") + Bulk("hi"));
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Subscriber(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto sub = client.PubSub(Op::kSubscribe, "news");
  auto psub = client.PubSub(Op::kPSubscribe, "p*");
  ASSERT_TRUE(loop.RunUntil([&] { return psub->done(); }));
  EXPECT_EQ(sub->elements, (std::vector<std::string>{"subscribe", "news", "1"}));
  auto ping = client.Issue({"PING"});
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().messages.size() == 2; }));
  ASSERT_TRUE(ping->done());
  EXPECT_EQ(ping->calls, 1);
  EXPECT_EQ(ping->elements, (std::vector<std::string>{"pong", ""}));
  const auto& m = client.listener().messages;
  EXPECT_FALSE(m[0].from_pattern);
  EXPECT_EQ(m[0].channel, "news");
  EXPECT_EQ(m[0].payload, "hello");
  EXPECT_TRUE(m[1].from_pattern);
  EXPECT_EQ(m[1].pattern, "p*");
  EXPECT_EQ(m[1].channel, "pq");
  EXPECT_EQ(m[1].payload, "hi");
}

TEST(Subscriber, ResubscribesEverythingOnANewConnectionBeforeItIsReady) {
  FakeRedisServer server;
  server.On(0, [&server](FakeConnection& c) {
    int subscriptions = 0;
    Command cmd;
    for (int i = 0; i < 2 && c.Read(&cmd); ++i) c.Write(FakeConnection::DefaultReply(cmd, &subscriptions));
    server.Await("drop");
    c.Close();
  });
  server.On(1, [&server](FakeConnection& c) {
    std::vector<Command> got;
    if (!c.Expect(2, &got)) return;
    server.Await("confirm");
    c.Write(Confirm("subscribe", "news", 1) + Confirm("psubscribe", "p*", 2));
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Subscriber(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto sub = client.PubSub(Op::kSubscribe, "news");
  auto psub = client.PubSub(Op::kPSubscribe, "p*");
  ASSERT_TRUE(loop.RunUntil([&] { return psub->done(); }));
  server.Signal("drop");
  ASSERT_TRUE(loop.RunUntil([&] { return server.Received(1).size() == 2; }));
  EXPECT_EQ(server.Received(1), (std::vector<Command>{{"SUBSCRIBE", "news"}, {"PSUBSCRIBE", "p*"}}));
  // Not ready until Redis has confirmed both.
  EXPECT_EQ(client.listener().CountState(State::kReady), 1);
  server.Signal("confirm");
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  EXPECT_EQ(sub->calls, 1);
  EXPECT_EQ(psub->calls, 1);
}

TEST(Subscriber, DropsASubscriptionRedisRefusedFromLaterConnections) {
  FakeRedisServer server;
  server.On(0, [&server](FakeConnection& c) {
    Command cmd;
    if (!c.Read(&cmd) || !c.Write("-NOPERM this user has no permissions to access the 'secret' channel\r\n")) return;
    if (!c.Read(&cmd) || !c.Write(Confirm("subscribe", "open", 1))) return;
    server.Await("drop");
    c.Close();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Subscriber(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto refused = client.PubSub(Op::kSubscribe, "secret");
  auto open = client.PubSub(Op::kSubscribe, "open");
  ASSERT_TRUE(loop.RunUntil([&] { return open->done(); }));
  EXPECT_EQ(refused->type, REDIS_REPLY_ERROR);
  server.Signal("drop");
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  EXPECT_EQ(server.Received(1), (std::vector<Command>{{"SUBSCRIBE", "open"}}));
}

TEST(Subscriber, ReconnectsWhenRedisSendsAReplyToNoCommand) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    c.Write("+OK\r\n");
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Subscriber(server.port()));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error,
            "Redis sent a reply to no command; reconnecting");
  ASSERT_TRUE(loop.RunUntil([&] { return server.Accepted() == 2; }));
}

TEST(Subscriber, ClosingFailsWhatAwaitsAConfirmation) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Subscriber(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto sub = client.PubSub(Op::kSubscribe, "news");
  ASSERT_TRUE(loop.RunUntil([&] { return server.Received(0).size() == 1; }));
  ASSERT_TRUE(client.CloseAndWait());
  EXPECT_EQ(sub->calls, 1);
  EXPECT_EQ(sub->error, CommandError::kClosed);
}

}  // namespace
}  // namespace respcache::testing
