// What the Sentinel facade needs from one RedisConnection, against the fake RESP server:
// Retarget() to another server, the ROLE check of expect_master (and its READONLY backstop), and
// scripts preloaded by the handshake.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <functional>
#include <string>
#include <vector>

#include "redis/redis_connection.h"
#include "support/fake_redis_server.h"
#include "support/test_loop.h"

namespace respcache::testing {
namespace {

using State = RedisConnection::State;

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

const std::string kRoleMaster2 =
    "*3\r\n" + Bulk("master") + ":0\r\n*2\r\n*3\r\n" + Bulk("127.0.0.1") + Bulk("7001") + Bulk("0") +
    "*3\r\n" + Bulk("127.0.0.1") + Bulk("7002") + Bulk("0");
const std::string kRoleMaster0 = "*3\r\n" + Bulk("master") + ":0\r\n*0\r\n";
const std::string kRoleSlave =
    "*5\r\n" + Bulk("slave") + Bulk("127.0.0.1") + ":7000\r\n" + Bulk("connected") + ":0\r\n";

// Serves like FakeRedisServer::Default, except for the commands `special` answers (non-empty).
FakeRedisServer::Script Serving(std::function<std::string(const Command&)> special) {
  return [special](FakeConnection& c) {
    int subscriptions = 0;
    Command cmd;
    while (c.Read(&cmd)) {
      std::string reply = special(cmd);
      if (reply.empty()) reply = FakeConnection::DefaultReply(cmd, &subscriptions);
      if (!c.Write(reply)) return;
    }
  };
}

std::string RoleAnswer(const Command& c, const std::string& role) {
  return !c.empty() && c[0] == "ROLE" ? role : "";
}

// TestLoop watches one server; a second one is watched through this, which stops before the
// loop goes away (declare it after the loop).
struct AlsoWatch {
  AlsoWatch(TestLoop& loop, FakeRedisServer& server, FakeRedisServer& other) : server_(server) {
    loop.Watch(server);
    loop.Watch(other);  // the one TestLoop stops watching itself
  }
  ~AlsoWatch() { server_.SetObserver(nullptr); }
  FakeRedisServer& server_;
};

RedisEndpoint At(int port) {
  RedisEndpoint e;
  e.port = port;
  return e;
}

// --- Retarget ----------------------------------------------------------------------------------

TEST(Retarget, FailsCommandsInFlightOnceAndServesNewOnesFromTheNewServer) {
  FakeRedisServer a, b;
  a.On(0, [](FakeConnection& c) { c.Hang(); });  // never answers: the GET stays in flight
  TestLoop loop;
  AlsoWatch watch(loop, a, b);
  Client client(loop, Client::Tcp(a.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  auto in_flight = client.Issue({"GET", "old"});
  ASSERT_TRUE(loop.RunUntil([&] { return a.Received(0).size() == 1; }));
  ASSERT_FALSE(in_flight->done());

  client.conn().Retarget(At(b.port()));
  ASSERT_TRUE(in_flight->done());  // synchronously, from Retarget()
  EXPECT_EQ(in_flight->error, CommandError::kUnavailable);
  EXPECT_EQ(in_flight->message, "the connection to Redis was lost");
  EXPECT_EQ(client.conn().state(), State::kReconnecting);
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error, "");  // deliberate: no error
  EXPECT_EQ(client.conn().endpoint().port, b.port());

  auto queued = client.Issue({"GET", "new"});  // issued meanwhile: waits for the attempt
  EXPECT_FALSE(queued->done());
  ASSERT_TRUE(loop.RunUntil([&] { return queued->done(); }));
  EXPECT_EQ(queued->error, CommandError::kNone);
  EXPECT_EQ(queued->type, REDIS_REPLY_NIL);
  EXPECT_EQ(b.Received(0), (std::vector<Command>{{"GET", "new"}}));
  EXPECT_EQ(client.listener().CountState(State::kReady), 2);
  EXPECT_EQ(a.Received(0), (std::vector<Command>{{"GET", "old"}}));  // nothing more went to A
  EXPECT_EQ(in_flight->calls, 1);
  EXPECT_EQ(queued->calls, 1);
}

TEST(Retarget, FromInsideAReplyCallbackFailsTheCommandsBehindItOnce) {
  FakeRedisServer a, b;
  a.On(0, [](FakeConnection& c) {
    if (!c.Expect(2)) return;  // GET first, GET second: only the first is answered
    c.Write("$-1\r\n");
    c.Hang();
  });
  TestLoop loop;
  AlsoWatch watch(loop, a, b);
  Client client(loop, Client::Tcp(a.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  struct Mover {
    RedisConnection* conn;
    RedisEndpoint to;
    int calls = 0;
    CommandError error = CommandError::kNone;
  } mover{&client.conn(), At(b.port())};
  const char* argv[] = {"GET", "first"};
  const size_t lens[] = {3, 5};
  client.conn().Command(2, argv, lens, 0, [](void* data, redisReply*, CommandError error, const char*) {
    auto* m = static_cast<Mover*>(data);
    ++m->calls;
    m->error = error;
    m->conn->Retarget(m->to);
  }, &mover);
  auto second = client.Issue({"GET", "second"});
  ASSERT_TRUE(loop.RunUntil([&] { return second->done(); }));
  EXPECT_EQ(mover.calls, 1);
  EXPECT_EQ(mover.error, CommandError::kNone);
  EXPECT_EQ(second->error, CommandError::kUnavailable);
  auto third = client.Issue({"GET", "third"});
  ASSERT_TRUE(loop.RunUntil([&] { return third->done(); }));
  EXPECT_EQ(third->error, CommandError::kNone);
  EXPECT_EQ(b.Received(0), (std::vector<Command>{{"GET", "third"}}));
  EXPECT_EQ(second->calls, 1);
  EXPECT_EQ(third->calls, 1);
}

TEST(Retarget, CommandsQueuedForTheAttemptWaitWithinTheirOwnTimeouts) {
  FakeRedisServer a, b;
  // B holds its ROLE answer until the test says so: the attempt is under way meanwhile.
  b.On(0, [&b](FakeConnection& c) {
    Command role;
    if (!c.Read(&role)) return;
    b.Await("answer");
    if (!c.Write(kRoleMaster0)) return;
    Serving([](const Command&) { return std::string(); })(c);
  });
  TestLoop loop;
  AlsoWatch watch(loop, a, b);
  RedisConnection::Options o = Client::Tcp(a.port(), 1000, 3000);
  o.expect_master = true;
  a.OnOthers(Serving([](const Command& c) { return RoleAnswer(c, kRoleMaster0); }));
  Client client(loop, o);
  ASSERT_TRUE(client.WaitReady());
  client.conn().Retarget(At(b.port()));
  auto quick = client.Issue({"GET", "q"}, 100);
  auto patient = client.Issue({"GET", "p"}, 3000);
  const uint64_t start = loop.now();
  ASSERT_TRUE(loop.RunUntil([&] { return quick->done(); }));
  EXPECT_EQ(quick->error, CommandError::kTimeout);
  EXPECT_EQ(quick->message, "timed out waiting for the connection to Redis");
  EXPECT_GE(quick->at_ms - start, 95u);
  EXPECT_LT(quick->at_ms - start, 300u);
  EXPECT_FALSE(patient->done());
  b.Signal("answer");
  ASSERT_TRUE(loop.RunUntil([&] { return patient->done(); }));
  EXPECT_EQ(patient->error, CommandError::kNone);
  EXPECT_EQ(b.Received(0), (std::vector<Command>{{"ROLE"}, {"GET", "p"}}));
  EXPECT_EQ(quick->calls, 1);
  EXPECT_EQ(patient->calls, 1);
}

TEST(Retarget, LeavesTheBackoffOfAFailingServerAtOnce) {
  FakeRedisServer b;
  TestLoop loop;
  loop.Watch(b);
  Client client(loop, Client::Tcp(FakeRedisServer::RefusedPort()));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReconnecting) >= 2; }));
  // Now waiting out a backoff (100..200 ms after the second failure, growing): a retarget does not.
  const uint64_t start = loop.now();
  client.conn().Retarget(At(b.port()));
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(client.WaitReady());
  EXPECT_LT(client.listener().Last(State::kReady).at_ms - start, 50u);
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  EXPECT_EQ(get->error, CommandError::kNone);
  EXPECT_EQ(get->calls, 1);
}

TEST(Retarget, ASubscriberSubscribesItsChannelsAndPatternsOnTheNewServer) {
  FakeRedisServer a, b;
  b.On(0, [](FakeConnection& c) {
    std::vector<Command> got;
    if (!c.Expect(2, &got)) return;
    int subscriptions = 0;
    for (const Command& cmd : got) c.Write(FakeConnection::DefaultReply(cmd, &subscriptions));
    c.Write("*3\r\n" + Bulk("message") + Bulk("news") + Bulk("from b"));
    c.Hang();
  });
  TestLoop loop;
  AlsoWatch watch(loop, a, b);
  RedisConnection::Options o = Client::Tcp(a.port());
  o.subscriber = true;
  Client client(loop, o);
  ASSERT_TRUE(client.WaitReady());
  auto sub = client.PubSub(RedisConnection::PubSubOp::kSubscribe, "news");
  auto psub = client.PubSub(RedisConnection::PubSubOp::kPSubscribe, "n*");
  ASSERT_TRUE(loop.RunUntil([&] { return sub->done() && psub->done(); }));
  ASSERT_EQ(sub->error, CommandError::kNone);
  auto ping = client.Issue({"PING"});  // answered by A before the retarget
  ASSERT_TRUE(loop.RunUntil([&] { return ping->done(); }));

  client.conn().Retarget(At(b.port()));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().messages.size() == 1; }));
  EXPECT_EQ(b.Received(0), (std::vector<Command>{{"SUBSCRIBE", "news"}, {"PSUBSCRIBE", "n*"}}));
  EXPECT_EQ(client.listener().CountState(State::kReady), 2);
  EXPECT_EQ(client.listener().messages[0].channel, "news");
  EXPECT_EQ(client.listener().messages[0].payload, "from b");
}

TEST(Retarget, DoesNothingOnceClosed) {
  FakeRedisServer a, b;
  TestLoop loop;
  loop.Watch(a);
  Client client(loop, Client::Tcp(a.port()));
  ASSERT_TRUE(client.WaitReady());
  client.conn().Close();
  client.conn().Retarget(At(b.port()));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().closed == 1; }));
  EXPECT_EQ(b.Accepted(), 0);
}

TEST(Retarget, ACloseBeforeTheNewAttemptFailsWhatWaitedForItAndConnectsNowhere) {
  FakeRedisServer a, b;
  TestLoop loop;
  AlsoWatch watch(loop, a, b);
  Client client(loop, Client::Tcp(a.port()));
  ASSERT_TRUE(client.WaitReady());
  client.conn().Retarget(At(b.port()));
  auto queued = client.Issue({"GET", "k"});
  client.conn().Close();
  ASSERT_TRUE(queued->done());
  EXPECT_EQ(queued->error, CommandError::kClosed);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().closed == 1; }));
  EXPECT_EQ(b.Accepted(), 0);
  EXPECT_EQ(queued->calls, 1);
}

// --- expect_master -----------------------------------------------------------------------------

TEST(ExpectMaster, ARepliesSlaveAttemptFailsAndIsRetriedUntilAMasterAnswers) {
  FakeRedisServer server;
  server.On(0, Serving([](const Command& c) { return RoleAnswer(c, kRoleSlave); }));
  server.On(1, Serving([](const Command& c) { return RoleAnswer(c, kRoleMaster2); }));
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port());
  o.expect_master = true;
  o.endpoint.password = "pw";
  Client client(loop, o);
  EXPECT_EQ(client.conn().connected_replicas(), -1);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error,
            "Redis at 127.0.0.1:" + std::to_string(server.port()) + " is a replica, not a master");
  EXPECT_FALSE(client.listener().Has(State::kReady));
  ASSERT_TRUE(client.WaitReady());
  EXPECT_EQ(server.Accepted(), 2);
  EXPECT_EQ(server.Received(1), (std::vector<Command>{{"AUTH", "pw"}, {"ROLE"}}));
  EXPECT_EQ(client.conn().connected_replicas(), 2);
}

TEST(ExpectMaster, RefusesASentinelAndAServerThatDoesNotKnowRole) {
  FakeRedisServer server;
  server.On(0, Serving([](const Command& c) {
    return RoleAnswer(c, "*2\r\n" + Bulk("sentinel") + "*1\r\n" + Bulk("mymaster"));
  }));
  server.On(1, Serving([](const Command&) { return std::string(); }));  // ROLE: unknown command
  server.OnOthers([](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port());
  o.expect_master = true;
  Client client(loop, o);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReconnecting) >= 2; }));
  const std::string at = "Redis at 127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(client.listener().changes[0].error, at + " is a sentinel, not a master");
  EXPECT_EQ(client.listener().changes[1].error,
            "Redis refused the connection handshake: ERR unknown command 'ROLE'");
  EXPECT_FALSE(client.listener().Has(State::kReady));
}

TEST(ExpectMaster, AReadonlyReplyReconnectsAndTheCommandsBehindItFailOnce) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    Command role;
    if (!c.Read(&role) || !c.Write(kRoleMaster0)) return;
    if (!c.Expect(2)) return;  // SET and GET, pipelined: the GET is never answered
    c.Write("-READONLY You can't write against a read only replica.\r\n");
    c.Hang();
  });
  server.On(1, Serving([](const Command& c) { return RoleAnswer(c, kRoleMaster2); }));
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port(), 5000);
  o.expect_master = true;
  Client client(loop, o);
  ASSERT_TRUE(client.WaitReady());
  auto set = client.Issue({"SET", "k", "v"});
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return set->done() && get->done(); }));
  EXPECT_EQ(set->error, CommandError::kNone);
  EXPECT_EQ(set->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(set->str, "READONLY You can't write against a read only replica.");
  EXPECT_EQ(get->error, CommandError::kUnavailable);
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error,
            "Redis at 127.0.0.1:" + std::to_string(server.port()) +
                " answered READONLY: it is a replica now; reconnecting");
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  EXPECT_EQ(client.conn().connected_replicas(), 2);
  EXPECT_EQ(set->calls, 1);
  EXPECT_EQ(get->calls, 1);
}

TEST(ExpectMaster, WithoutItAReadonlyReplyIsJustAReply) {
  FakeRedisServer server;
  server.On(0, Serving([](const Command& c) {
    return !c.empty() && c[0] == "SET" ? std::string("-READONLY no\r\n") : std::string();
  }));
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto set = client.Issue({"SET", "k", "v"});
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return set->done() && get->done(); }));
  EXPECT_EQ(set->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(get->error, CommandError::kNone);
  EXPECT_FALSE(client.listener().Has(State::kReconnecting));
  EXPECT_EQ(server.Accepted(), 1);
  EXPECT_EQ(client.conn().connected_replicas(), -1);
}

// --- preload -----------------------------------------------------------------------------------

TEST(Preload, LoadsEveryScriptInTheHandshakeBeforeReadyAndBeforeQueuedCommands) {
  FakeRedisServer server;
  server.OnOthers(Serving([](const Command& c) {
    if (c.size() == 3 && c[0] == "SCRIPT") return Bulk("sha-of-" + c[2]);
    return RoleAnswer(c, kRoleMaster0);
  }));
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port());
  o.endpoint.password = "pw";
  o.expect_master = true;
  o.preload = {"return 1", "return redis.call('GET', KEYS[1])"};
  Client client(loop, o);
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  const std::vector<Command> handshake = {{"AUTH", "pw"},
                                          {"ROLE"},
                                          {"SCRIPT", "LOAD", "return 1"},
                                          {"SCRIPT", "LOAD", "return redis.call('GET', KEYS[1])"}};
  std::vector<Command> expected = handshake;
  expected.push_back({"GET", "k"});
  EXPECT_EQ(server.Received(0), expected);
  // Every new connection loads them again (here: after a retarget to the same server).
  client.conn().Retarget(client.conn().endpoint());
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  EXPECT_EQ(server.Received(1), handshake);
}

TEST(Preload, AScriptRedisRefusesFailsTheAttempt) {
  FakeRedisServer server;
  server.OnOthers(Serving([](const Command& c) {
    return c.size() == 3 && c[0] == "SCRIPT" ? std::string("-ERR Error compiling script\r\n")
                                             : std::string();
  }));
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port());
  o.preload = {"return ("};
  Client client(loop, o);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error,
            "Redis refused the connection handshake: ERR Error compiling script");
  EXPECT_FALSE(client.listener().Has(State::kReady));
}

}  // namespace
}  // namespace respcache::testing
