// Drives a RedisConnection on a private libuv loop in the test thread, and records what it does.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/redis_connection.h"
#include "support/fake_redis_server.h"

namespace respcache::testing {

class TestLoop {
 public:
  TestLoop();
  // Closes every handle left and checks that the loop closes cleanly: no test leaks a handle.
  ~TestLoop();
  uv_loop_t* get() { return &loop_; }
  // Runs the loop until pred() holds; false if `timeout_ms` passes first (a watchdog timer ends
  // the wait, so a missing event fails the test instead of hanging it).
  bool RunUntil(const std::function<bool()>& pred, uint64_t timeout_ms = 5000);
  uint64_t now() { return uv_now(&loop_); }
  // Wakes RunUntil whenever `server` records something, so predicates on the server's state are
  // re-checked at once (until this loop goes away).
  void Watch(FakeRedisServer& server);

 private:
  uv_loop_t loop_;
  uv_async_t wake_;
  FakeRedisServer* watched_ = nullptr;
};

// What one command's callback reported. The contract is exactly one call: a second one is
// counted, and tests assert calls == 1.
struct Result {
  int calls = 0;
  CommandError error = CommandError::kNone;
  std::string message;
  int type = 0;  // REDIS_REPLY_*
  std::string str;
  long long integer = 0;
  std::vector<std::string> elements;  // an array's string elements ("<nil>" for nil)
  int depth = -1;                     // Enter/ExitLoopEvent nesting when it fired
  uint64_t at_ms = 0;                 // uv_now when it fired
  int order = -1;                     // position among all callbacks of the test
  bool done() const { return calls > 0; }
};

class RecordingListener : public RedisConnection::Listener {
 public:
  struct Change {
    RedisConnection::State state;
    std::string error;
    uint64_t at_ms;
    FailureKind kind = FailureKind::kUnavailable;
  };
  struct Received {
    std::string channel, payload, pattern;
    bool from_pattern;
  };

  explicit RecordingListener(uv_loop_t* loop) : loop_(loop) {}
  void EnterLoopEvent() override { ++depth; ++enters; }
  void ExitLoopEvent() override { --depth; }
  void OnStateChange(RedisConnection::State state, const std::string& error,
                     FailureKind kind) override {
    changes.push_back({state, error, uv_now(loop_), kind});
  }
  void OnClosed() override { ++closed; }
  void OnMessage(const RedisConnection::Message& m) override {
    messages.push_back({std::string(m.channel), std::string(m.payload), std::string(m.pattern), m.from_pattern});
  }

  int CountState(RedisConnection::State s) const;
  bool Has(RedisConnection::State s) const { return CountState(s) > 0; }
  // The latest change to `s` (a copy: later changes may move the vector); a default Change with
  // at_ms 0 (and a test failure) if there was none.
  Change Last(RedisConnection::State s) const;

  int depth = 0;
  int enters = 0;
  int closed = 0;
  std::vector<Change> changes;
  std::vector<Received> messages;

 private:
  uv_loop_t* loop_;
};

// A connection under test: owns the listener, hands out results, and closes the connection
// (running the loop until OnClosed) when it goes away unless the test did.
class Client {
 public:
  Client(TestLoop& loop, RedisConnection::Options options);
  ~Client();
  static RedisConnection::Options Tcp(int port, uint32_t command_timeout_ms = 1000,
                                      uint32_t connect_timeout_ms = 1000);

  RedisConnection& conn() { return *conn_; }
  RecordingListener& listener() { return listener_; }
  bool WaitReady(uint64_t timeout_ms = 5000);
  std::shared_ptr<Result> Issue(std::vector<std::string> argv, uint32_t timeout_ms = 0,
                                bool flush_now = false);
  std::shared_ptr<Result> PubSub(RedisConnection::PubSubOp op, const std::string& name);
  // Close() and run the loop until OnClosed.
  bool CloseAndWait(uint64_t timeout_ms = 5000);
  // Abort(): synchronous; the finished callback runs once handles close.
  void Abort();
  bool finished() const { return *finished_; }

 private:
  struct Baton;
  static void OnDone(void* data, redisReply* reply, CommandError error, const char* message);

  TestLoop& loop_;
  RecordingListener listener_;
  RedisConnection* conn_;
  bool closed_ = false;
  int next_order_ = 0;
  std::shared_ptr<bool> finished_ = std::make_shared<bool>(false);
  std::vector<std::unique_ptr<Baton>> batons_;
};

}  // namespace respcache::testing
