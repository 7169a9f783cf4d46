// RedisConnection and its libuv adapter against the fake RESP server: the cases a real Redis
// cannot produce on demand. Each test runs the client on a private loop (TestLoop), which checks
// on the way out that no handle was left open.
#include "redis/redis_connection.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_redis_server.h"
#include "support/test_loop.h"

namespace respcache::testing {
namespace {

using namespace std::chrono_literals;
using State = RedisConnection::State;

const std::string kPong = "+PONG\r\n";

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- Connecting --------------------------------------------------------------------------------

TEST(RedisConnection, ConnectsWithoutHandshakeAndAnswersAPing) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  EXPECT_EQ(client.listener().changes.size(), 1u);
  auto ping = client.Issue({"PING"});
  ASSERT_TRUE(loop.RunUntil([&] { return ping->done(); }));
  EXPECT_EQ(ping->calls, 1);
  EXPECT_EQ(ping->error, CommandError::kNone);
  EXPECT_EQ(ping->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(ping->str, "PONG");
  EXPECT_GE(ping->depth, 1);  // from a loop event, inside Enter/ExitLoopEvent
  EXPECT_EQ(server.Received(0), (std::vector<Command>{{"PING"}}));
}

TEST(RedisConnection, AuthenticatesAndSelectsBeforeSendingCommandsQueuedMeanwhile) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port());
  o.endpoint.username = "user";
  o.endpoint.password = "p@ss";
  o.endpoint.db = 3;
  Client client(loop, o);
  auto get = client.Issue({"GET", "k"});  // issued while connecting: queued
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  EXPECT_EQ(get->error, CommandError::kNone);
  EXPECT_EQ(get->type, REDIS_REPLY_NIL);
  EXPECT_EQ(server.Received(0),
            (std::vector<Command>{{"AUTH", "user", "p@ss"}, {"SELECT", "3"}, {"GET", "k"}}));
}

TEST(RedisConnection, SendsAPasswordAloneAsTheOneArgumentAuth) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port());
  o.endpoint.password = "secret";
  Client client(loop, o);
  ASSERT_TRUE(client.WaitReady());
  EXPECT_EQ(server.Received(0), (std::vector<Command>{{"AUTH", "secret"}}));
}

TEST(RedisConnection, RetriesWithBackoffWhenTheHandshakeIsRefused) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    Command cmd;
    if (c.Read(&cmd)) c.Write("-WRONGPASS invalid username-password pair\r\n");
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port());
  o.endpoint.password = "wrong";
  Client client(loop, o);
  auto get = client.Issue({"GET", "k"}, 5000);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  const auto change = client.listener().Last(State::kReconnecting);
  EXPECT_EQ(change.error, "Redis refused the connection handshake: WRONGPASS invalid username-password pair");
  ASSERT_TRUE(get->done());
  EXPECT_EQ(get->error, CommandError::kUnavailable);
  EXPECT_EQ(get->message, "could not connect to Redis");
  // The second attempt (served by the default script) comes after the first backoff, 50..100 ms.
  ASSERT_TRUE(client.WaitReady());
  const uint64_t waited = client.listener().Last(State::kReady).at_ms - change.at_ms;
  EXPECT_GE(waited, 50u);
  EXPECT_EQ(server.Accepted(), 2);
  EXPECT_EQ(get->calls, 1);
}

// Holds every thread of libuv's pool busy until Release(): work queued meanwhile (a
// uv_getaddrinfo) waits, while the loop itself runs on.
class BusyThreadPool {
 public:
  explicit BusyThreadPool(uv_loop_t* loop) : loop_(loop) {
    const char* size = std::getenv("UV_THREADPOOL_SIZE");
    works_.resize(size ? std::max(1, std::atoi(size)) : 4);
    for (uv_work_t& w : works_) {
      w.data = this;
      uv_queue_work(loop_, &w, [](uv_work_t* w) {
        auto* self = static_cast<BusyThreadPool*>(w->data);
        while (!self->released_.load()) std::this_thread::sleep_for(1ms);
      }, [](uv_work_t* w, int) { ++static_cast<BusyThreadPool*>(w->data)->finished_; });
    }
  }
  ~BusyThreadPool() { Release(); }
  void Release() { released_ = true; }
  bool Finished() const { return finished_ == static_cast<int>(works_.size()); }

 private:
  uv_loop_t* loop_;
  std::vector<uv_work_t> works_;
  std::atomic<bool> released_{false};
  int finished_ = 0;
};

// The fake server's address by name ("localhost"), with this connect timeout.
RedisConnection::Options ByName(int port, uint32_t connect_timeout_ms) {
  RedisConnection::Options o = Client::Tcp(port, 1000, connect_timeout_ms);
  o.endpoint.host = "localhost";
  return o;
}

TEST(RedisConnection, ResolvesAHostNameOnTheThreadPoolNotOnTheLoop) {
  // hiredis 0.14 would call a blocking getaddrinfo on the loop: with the pool busy it would
  // connect all the same, and a slow DNS would freeze the whole process.
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  BusyThreadPool pool(loop.get());
  Client client(loop, ByName(server.port(), 3000));
  EXPECT_FALSE(loop.RunUntil([&] { return client.listener().Has(State::kReady); }, 300));
  EXPECT_EQ(server.Accepted(), 0);
  pool.Release();
  ASSERT_TRUE(client.WaitReady());
  auto ping = client.Issue({"PING"});
  ASSERT_TRUE(loop.RunUntil([&] { return ping->done(); }));
  EXPECT_EQ(ping->str, "PONG");
  ASSERT_TRUE(loop.RunUntil([&] { return pool.Finished(); }));
}

TEST(RedisConnection, ConnectTimeoutCoversTheResolutionAndALateAnswerIsDropped) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  BusyThreadPool pool(loop.get());
  Client client(loop, ByName(server.port(), 200));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }, 2000));
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error,
            "timed out after 200 ms connecting to Redis at localhost:" + std::to_string(server.port()));
  pool.Release();
  // The next attempt resolves again and connects; the first answer connects nothing.
  ASSERT_TRUE(client.WaitReady());
  ASSERT_TRUE(loop.RunUntil([&] { return pool.Finished(); }));
  EXPECT_FALSE(loop.RunUntil([] { return false; }, 100));
  ASSERT_TRUE(server.WaitFor([&] { return server.Accepted() >= 1; }, 1000ms));
  EXPECT_EQ(server.Accepted(), 1);
}

TEST(RedisConnection, CloseWhileResolvingEndsAtOnceAndNeverConnects) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  BusyThreadPool pool(loop.get());
  Client client(loop, ByName(server.port(), 3000));
  auto get = client.Issue({"GET", "k"});  // queued for the attempt
  EXPECT_FALSE(loop.RunUntil([] { return false; }, 50));
  // The queued resolution is cancelled: closing does not wait for the pool.
  ASSERT_TRUE(client.CloseAndWait(1000));
  EXPECT_EQ(get->calls, 1);
  EXPECT_EQ(get->error, CommandError::kClosed);
  pool.Release();
  ASSERT_TRUE(loop.RunUntil([&] { return pool.Finished(); }));
  EXPECT_EQ(server.Accepted(), 0);
}

TEST(RedisConnection, SettlesARefusedConnectAtOnceNotAtTheConnectTimeout) {
  // The poll error path: Debian's adapters/libuv.h drops it, so the attempt never settles.
  TestLoop loop;
  const int port = FakeRedisServer::RefusedPort();
  Client client(loop, Client::Tcp(port, 1000, 5000));
  const uint64_t start = loop.now();
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }, 3000));
  const auto change = client.listener().Last(State::kReconnecting);
  EXPECT_LT(change.at_ms - start, 1000u);
  EXPECT_EQ(change.error, "could not connect to Redis at 127.0.0.1:" + std::to_string(port) +
                               ": Connection refused");
}

TEST(RedisConnection, FailsCommandsAtOnceWhileWaitingToReconnect) {
  TestLoop loop;
  Client client(loop, Client::Tcp(FakeRedisServer::RefusedPort()));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(get->done());  // synchronously, from Command() itself
  EXPECT_EQ(get->depth, 0);
  EXPECT_EQ(get->error, CommandError::kUnavailable);
  EXPECT_EQ(get->message, "not connected to Redis");
}

TEST(RedisConnection, TimesOutAHandshakeThatIsNeverAnswered) {
  FakeRedisServer server;
  server.OnOthers([](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port(), 1000, 100);
  o.endpoint.password = "pw";
  Client client(loop, o);
  auto quick = client.Issue({"GET", "a"}, 50);
  auto slow = client.Issue({"GET", "b"}, 500);
  const uint64_t start = loop.now();
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  EXPECT_GE(client.listener().Last(State::kReconnecting).at_ms - start, 99u);
  EXPECT_EQ(client.listener().Last(State::kReconnecting).error,
            "timed out after 100 ms connecting to Redis at 127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(quick->done() && slow->done());
  EXPECT_EQ(quick->error, CommandError::kTimeout);
  EXPECT_EQ(quick->message, "timed out waiting for the connection to Redis");
  EXPECT_EQ(slow->error, CommandError::kUnavailable);
  EXPECT_EQ(slow->message, "could not connect to Redis");
  EXPECT_LT(quick->order, slow->order);
}

// --- Hung and slow commands --------------------------------------------------------------------

TEST(RedisConnection, TimesOutAHungCommandAndBypassesTheStalledServer) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 1000));
  ASSERT_TRUE(client.WaitReady());
  const uint64_t start = loop.now();
  auto get = client.Issue({"GET", "k"}, 50);
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  EXPECT_EQ(get->error, CommandError::kTimeout);
  EXPECT_EQ(get->message, "Redis did not answer within 50 ms");
  EXPECT_GE(get->at_ms - start, 49u);
  auto next = client.Issue({"GET", "k2"});
  ASSERT_TRUE(next->done());  // at once: not queued behind a stalled server
  EXPECT_EQ(next->depth, 0);
  EXPECT_EQ(next->error, CommandError::kTimeout);
  EXPECT_EQ(next->message, "Redis has not answered earlier commands within their timeout");
}

TEST(RedisConnection, ReconnectsWhenTheServerStaysSilentForTheStallLimit) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 50));  // stall limit max(1000, 500) = 1000 ms
  ASSERT_TRUE(client.WaitReady());
  const uint64_t issued = loop.now();
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }, 5000));
  const auto change = client.listener().Last(State::kReconnecting);
  EXPECT_EQ(change.error, "Redis stopped answering; reconnecting");
  EXPECT_GE(change.at_ms - issued, 1000u);
  EXPECT_EQ(get->calls, 1);
  EXPECT_EQ(get->error, CommandError::kTimeout);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  auto ping = client.Issue({"PING"});
  ASSERT_TRUE(loop.RunUntil([&] { return ping->done(); }));
  EXPECT_EQ(ping->str, "PONG");
  EXPECT_EQ(server.Accepted(), 2);
}

TEST(RedisConnection, SwallowsALateReplyAndRecoversWithoutReconnecting) {
  FakeRedisServer server;
  server.On(0, [&server](FakeConnection& c) {
    Command cmd;
    if (!c.Read(&cmd)) return;
    server.Await("late");  // the command has timed out on the client by now
    c.Write(Bulk("late"));
    FakeRedisServer::Default(c);
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "k"}, 50);
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  EXPECT_EQ(get->error, CommandError::kTimeout);
  server.Signal("late");
  // While the late reply is outstanding, commands are refused; once it arrives they go through.
  std::shared_ptr<Result> echo;
  ASSERT_TRUE(loop.RunUntil([&] {
    auto r = client.Issue({"ECHO", "after"});
    if (r->done()) return false;  // refused at once: the late reply has not come yet
    echo = r;
    return true;
  }, 3000));
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->error, CommandError::kNone);
  EXPECT_EQ(echo->str, "after");
  EXPECT_EQ(get->calls, 1);  // the late reply reached no callback
  EXPECT_EQ(server.Accepted(), 1);
  EXPECT_FALSE(client.listener().Has(State::kReconnecting));
}

TEST(RedisConnection, TakesAReplyAlreadyWaitingWhenItsDeadlineFires) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto echo = client.Issue({"ECHO", "on time"}, 30, /*flush_now=*/true);
  // The reply arrives while the loop is not running; by the time it runs, the deadline is due.
  ASSERT_TRUE(server.WaitFor([&] { return server.Received(0).size() == 1; }, 2000ms));
  std::this_thread::sleep_for(80ms);  // the blocked loop being simulated, not synchronisation
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->error, CommandError::kNone);
  EXPECT_EQ(echo->str, "on time");
}

TEST(RedisConnection, CountsATimeoutFromWhenTheCommandIsIssuedNotFromTheStartOfTheLoopTurn) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    Command cmd;
    while (c.Read(&cmd)) {
      std::this_thread::sleep_for(40ms);  // Redis's answer takes 40 ms: well within the timeout
      c.Write(Bulk(cmd.size() > 1 ? cmd[1] : "?"));
    }
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  // A long turn of the loop (a burst of requests, a busy machine): libuv's cached time stays at
  // the start of the turn, 150 ms behind, when the command is issued.
  std::this_thread::sleep_for(150ms);  // the busy turn being simulated, not synchronisation
  auto echo = client.Issue({"ECHO", "in time"}, 100, /*flush_now=*/true);
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->error, CommandError::kNone) << echo->message;
  EXPECT_EQ(echo->str, "in time");
}

TEST(RedisConnection, CountsATimeoutFromWhenTheCommandGoesOutWhenTheLoopWasTooBusyToSendIt) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  // Issued without flush_now: written on the next writable event. The turn that issued it then
  // runs for 150 ms, past the command's 100 ms; libuv runs the due deadline timer before it
  // polls, so the command would time out without ever reaching Redis.
  auto echo = client.Issue({"ECHO", "sent late"}, 100);
  std::this_thread::sleep_for(150ms);  // the busy turn being simulated, not synchronisation
  EXPECT_TRUE(server.Received(0).empty());
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->error, CommandError::kNone) << echo->message;
  EXPECT_EQ(echo->str, "sent late");
}

TEST(RedisConnection, StillTimesOutACommandTheServerTookButNeverAnswered) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 1000));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "k"}, 100);
  std::this_thread::sleep_for(150ms);  // the busy turn being simulated, not synchronisation
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  EXPECT_EQ(get->error, CommandError::kTimeout);
  EXPECT_EQ(get->message, "Redis did not answer within 100 ms");
  EXPECT_EQ(server.Received(0), (std::vector<Command>{{"GET", "k"}}));  // it went out first
}

// --- Replies split across reads ----------------------------------------------------------------

const std::string kPipelineReplies = Bulk("hello") + ":42\r\n" + "*2\r\n$1\r\na\r\n$-1\r\n";

void ExpectPipelineResults(const std::shared_ptr<Result>& get, const std::shared_ptr<Result>& incr,
                           const std::shared_ptr<Result>& range) {
  EXPECT_EQ(get->calls, 1);
  EXPECT_EQ(get->type, REDIS_REPLY_STRING);
  EXPECT_EQ(get->str, "hello");
  EXPECT_EQ(incr->calls, 1);
  EXPECT_EQ(incr->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(incr->integer, 42);
  EXPECT_EQ(range->calls, 1);
  EXPECT_EQ(range->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(range->elements, (std::vector<std::string>{"a", "<nil>"}));
  EXPECT_LT(get->order, incr->order);
  EXPECT_LT(incr->order, range->order);
}

TEST(RedisConnection, ReadsPipelinedRepliesArrivingOneByteAtATime) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    if (c.Expect(3)) c.WriteInPieces(kPipelineReplies, 1, 1ms);
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "k"});
  auto incr = client.Issue({"INCR", "n"});
  auto range = client.Issue({"LRANGE", "l", "0", "-1"});
  ASSERT_TRUE(loop.RunUntil([&] { return range->done(); }, 10000));
  ExpectPipelineResults(get, incr, range);
}

TEST(RedisConnection, ReadsPipelinedRepliesSplitAtEveryPoint) {
  for (size_t k = 1; k < kPipelineReplies.size(); ++k) {
    SCOPED_TRACE("split at " + std::to_string(k));
    FakeRedisServer server;
    server.On(0, [&server, k](FakeConnection& c) {
      if (!c.Expect(3)) return;
      c.Write(kPipelineReplies.substr(0, k));
      server.Await("rest");  // the client has read the first part and is waiting for more
      c.Write(kPipelineReplies.substr(k));
      c.Hang();
    });
    TestLoop loop;
    loop.Watch(server);
    Client client(loop, Client::Tcp(server.port(), 5000));
    ASSERT_TRUE(client.WaitReady());
    auto get = client.Issue({"GET", "k"});
    auto incr = client.Issue({"INCR", "n"});
    auto range = client.Issue({"LRANGE", "l", "0", "-1"});
    // Replies complete within the first part have been delivered, and nothing beyond them.
    loop.RunUntil([&] { return false; }, 20);
    EXPECT_FALSE(range->done());
    server.Signal("rest");
    ASSERT_TRUE(loop.RunUntil([&] { return range->done(); }));
    ExpectPipelineResults(get, incr, range);
  }
}

// --- Disconnects -------------------------------------------------------------------------------

void DisconnectMidPipeline(bool reset, const std::string& reason) {
  FakeRedisServer server;
  server.On(0, [reset](FakeConnection& c) {
    if (!c.Expect(5)) return;
    c.Write(Bulk("one") + Bulk("two"));
    if (reset) {
      c.Reset();
    } else {
      c.Close();
    }
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  std::vector<std::shared_ptr<Result>> gets;
  for (int i = 0; i < 5; ++i) gets.push_back(client.Issue({"GET", "k" + std::to_string(i)}));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  EXPECT_EQ(gets[0]->str, "one");
  EXPECT_EQ(gets[1]->str, "two");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(gets[i]->calls, 1) << i;
    if (i > 0) {
      EXPECT_LT(gets[i - 1]->order, gets[i]->order);
    }
  }
  // Replies 1 and 2 may come with the lost connection (the RST can arrive with them).
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(gets[i]->error, CommandError::kUnavailable) << i;
    EXPECT_EQ(gets[i]->message, "the connection to Redis was lost") << i;
  }
  const auto change = client.listener().Last(State::kReconnecting);
  EXPECT_EQ(change.error, "lost the connection to Redis: " + reason);
  // The next connection serves new commands.
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  auto echo = client.Issue({"ECHO", "again"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->str, "again");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(gets[i]->calls, 1) << i;
}

TEST(RedisConnection, FailsEveryCommandInFlightOnceWhenTheServerClosesMidPipeline) {
  DisconnectMidPipeline(false, "Server closed the connection");
}

TEST(RedisConnection, FailsEveryCommandInFlightOnceWhenTheConnectionIsResetMidPipeline) {
  DisconnectMidPipeline(true, "Connection reset by peer");
}

TEST(RedisConnection, NeverDeliversAReplyCutShortByTheConnectionClosing) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    if (c.Expect(1)) c.Write("$10\r\nhel");
    c.Close();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }));
  EXPECT_EQ(get->error, CommandError::kUnavailable);
  EXPECT_EQ(get->str, "");
}

// --- Huge replies ------------------------------------------------------------------------------

TEST(RedisConnection, ReceivesA64MiBBulkReplyIntactAndKeepsWorking) {
  constexpr size_t kSize = 64u << 20;
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    if (c.Expect(1)) c.WriteBulk(kSize, 1 << 20);
    FakeRedisServer::Default(c);
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 60000));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "huge"});
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }, 60000));
  ASSERT_EQ(get->error, CommandError::kNone) << get->message;
  ASSERT_EQ(get->str.size(), kSize);
  size_t wrong = 0;
  for (size_t i = 0; i < kSize; ++i) wrong += get->str[i] != FakeRedisServer::PatternByte(i);
  EXPECT_EQ(wrong, 0u);
  get->str.clear();
  get->str.shrink_to_fit();
  auto ping = client.Issue({"PING"});
  ASSERT_TRUE(loop.RunUntil([&] { return ping->done(); }));
  EXPECT_EQ(ping->str, "PONG");
}

TEST(RedisConnection, DeliversManyPipelinedLargeRepliesInOrder) {
  constexpr int kCount = 200;
  constexpr size_t kSize = 100 * 1000;
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    if (!c.Expect(kCount)) return;
    for (int i = 0; i < kCount; ++i) c.WriteBulk(kSize + i, 64 * 1024);
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 30000));
  ASSERT_TRUE(client.WaitReady());
  std::vector<std::shared_ptr<Result>> gets;
  for (int i = 0; i < kCount; ++i) gets.push_back(client.Issue({"GET", std::to_string(i)}));
  ASSERT_TRUE(loop.RunUntil([&] { return gets.back()->done(); }, 30000));
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(gets[i]->calls, 1) << i;
    ASSERT_EQ(gets[i]->str.size(), kSize + i) << i;
    ASSERT_EQ(gets[i]->str[kSize - 1], FakeRedisServer::PatternByte(kSize - 1)) << i;
  }
}

// --- Replies Redis sends -----------------------------------------------------------------------

TEST(RedisConnection, PassesAnErrorReplyAsAReply) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto bad = client.Issue({"NOSUCHCOMMAND"});
  ASSERT_TRUE(loop.RunUntil([&] { return bad->done(); }));
  EXPECT_EQ(bad->error, CommandError::kNone);
  EXPECT_EQ(bad->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(bad->str, "ERR unknown command 'NOSUCHCOMMAND'");
  EXPECT_EQ(client.conn().state(), State::kReady);
}

TEST(RedisConnection, ReconnectsAfterAProtocolError) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    if (c.Expect(1)) c.Write("!junk\r\n");
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  EXPECT_EQ(get->calls, 1);
  EXPECT_EQ(get->error, CommandError::kUnavailable);
  EXPECT_TRUE(Contains(client.listener().Last(State::kReconnecting).error, "Protocol error"))
      << client.listener().Last(State::kReconnecting).error;
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
}

// --- Writing -----------------------------------------------------------------------------------

TEST(RedisConnection, FlushNowPutsTheCommandOnTheWireBeforeReturning) {
  FakeRedisServer server;
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  auto lazy = client.Issue({"ECHO", "lazy"});
  // Without the flag nothing is written until the loop runs.
  EXPECT_FALSE(server.WaitFor([&] { return !server.Received(0).empty(); }, 100ms));
  auto now = client.Issue({"ECHO", "now"}, 0, /*flush_now=*/true);
  // Both leave in the one write the flag forces, without the loop running.
  EXPECT_TRUE(server.WaitFor([&] { return server.Received(0).size() == 2; }, 2000ms));
  ASSERT_TRUE(loop.RunUntil([&] { return now->done(); }));
  EXPECT_EQ(lazy->str, "lazy");
  EXPECT_EQ(now->str, "now");
}

// --- Close and Abort ---------------------------------------------------------------------------

TEST(RedisConnection, CloseLetsCommandsInFlightFinishAndFailsQueuedOnes) {
  FakeRedisServer server;
  server.On(0, [&server](FakeConnection& c) {
    if (!c.Expect(2)) return;
    server.Await("answer");
    c.Write(Bulk("a") + Bulk("b"));
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  auto a = client.Issue({"GET", "a"});
  auto b = client.Issue({"GET", "b"}, 0, /*flush_now=*/true);
  ASSERT_TRUE(server.WaitFor([&] { return server.Received(0).size() == 2; }, 2000ms));
  client.conn().Close();
  auto after = client.Issue({"GET", "c"});
  ASSERT_TRUE(after->done());
  EXPECT_EQ(after->depth, 0);
  EXPECT_EQ(after->error, CommandError::kClosed);
  EXPECT_EQ(after->message, "the Redis client is closed");
  EXPECT_FALSE(a->done()) << a->message;
  server.Signal("answer");
  ASSERT_TRUE(client.CloseAndWait());
  EXPECT_EQ(a->str, "a");
  EXPECT_EQ(b->str, "b");
  EXPECT_EQ(client.listener().closed, 1);
}

TEST(RedisConnection, CloseFailsCommandsQueuedForAConnection) {
  FakeRedisServer server;
  server.OnOthers([](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  RedisConnection::Options o = Client::Tcp(server.port(), 5000);
  o.endpoint.password = "pw";  // the handshake hangs: commands stay queued
  Client client(loop, o);
  auto queued = client.Issue({"GET", "k"});
  ASSERT_TRUE(loop.RunUntil([&] { return server.Accepted() == 1; }));
  ASSERT_TRUE(client.CloseAndWait());
  EXPECT_EQ(queued->calls, 1);
  EXPECT_EQ(queued->error, CommandError::kClosed);
  EXPECT_EQ(queued->message, "the Redis client was closed");
}

TEST(RedisConnection, CloseWithAHungServerEndsAfterTheLastDeadline) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port()));
  ASSERT_TRUE(client.WaitReady());
  const uint64_t start = loop.now();
  auto get = client.Issue({"GET", "k"}, 50);
  client.conn().Close();
  ASSERT_TRUE(client.CloseAndWait());
  EXPECT_EQ(get->calls, 1);
  EXPECT_EQ(get->error, CommandError::kTimeout);
  EXPECT_GE(loop.now() - start, 50u);
}

TEST(RedisConnection, AbortSettlesEverythingBeforeReturningAndCallsTheListenerNoMore) {
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) { c.Hang(); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 5000));
  ASSERT_TRUE(client.WaitReady());
  auto a = client.Issue({"GET", "a"});
  auto b = client.Issue({"GET", "b"});
  const size_t changes = client.listener().changes.size();
  client.Abort();
  for (auto& r : {a, b}) {
    EXPECT_EQ(r->calls, 1);
    EXPECT_EQ(r->error, CommandError::kAborted);
    EXPECT_EQ(r->message, "aborted");
  }
  ASSERT_TRUE(loop.RunUntil([&] { return client.finished(); }));
  EXPECT_EQ(client.listener().closed, 0);
  EXPECT_EQ(client.listener().changes.size(), changes);
}

}  // namespace
}  // namespace respcache::testing
