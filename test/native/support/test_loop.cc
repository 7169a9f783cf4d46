#include "support/test_loop.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

namespace respcache::testing {

TestLoop::TestLoop() {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &wake_, [](uv_async_t*) {});  // only ends the current uv_run turn
  uv_unref(reinterpret_cast<uv_handle_t*>(&wake_));
}

void TestLoop::Watch(FakeRedisServer& server) {
  watched_ = &server;
  server.SetObserver([this] { uv_async_send(&wake_); });
}

TestLoop::~TestLoop() {
  if (watched_) watched_->SetObserver(nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  // Whatever is still open here was leaked by the code under test; close it so the loop can be
  // freed, and fail.
  int left = 0;
  uv_walk(&loop_, [](uv_handle_t* h, void* arg) {
    if (!uv_is_closing(h)) {
      ++*static_cast<int*>(arg);
      uv_close(h, nullptr);
    }
  }, &left);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(left, 0) << "handles left open on the loop";
  EXPECT_EQ(uv_loop_close(&loop_), 0);
}

bool TestLoop::RunUntil(const std::function<bool()>& pred, uint64_t timeout_ms) {
  if (pred()) return true;
  bool expired = false;
  uv_timer_t watchdog;
  uv_timer_init(&loop_, &watchdog);
  watchdog.data = &expired;
  uv_timer_start(&watchdog, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, timeout_ms, 0);
  while (!pred() && !expired) uv_run(&loop_, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);  // lets the watchdog's close callback run
  return pred();
}

int RecordingListener::CountState(RedisConnection::State s) const {
  int n = 0;
  for (const Change& c : changes) n += c.state == s;
  return n;
}

RecordingListener::Change RecordingListener::Last(RedisConnection::State s) const {
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    if (it->state == s) return *it;
  }
  ADD_FAILURE() << "no change to state " << StateName(s);
  return Change{RedisConnection::State::kClosed, "", 0};
}

Client::Client(TestLoop& loop, RedisConnection::Options options)
    : loop_(loop), listener_(loop.get()),
      conn_(new RedisConnection(loop.get(), std::move(options), &listener_)) {
  auto* finished = new std::shared_ptr<bool>(finished_);
  conn_->SetFinishedCallback([](void* arg) {
    auto* f = static_cast<std::shared_ptr<bool>*>(arg);
    **f = true;
    delete f;
  }, finished);
  conn_->Connect();
}

Client::~Client() {
  if (!closed_) {
    EXPECT_TRUE(CloseAndWait()) << "the connection did not close";
  }
}

RedisConnection::Options Client::Tcp(int port, uint32_t command_timeout_ms, uint32_t connect_timeout_ms) {
  RedisConnection::Options o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = port;
  o.command_timeout_ms = command_timeout_ms;
  o.connect_timeout_ms = connect_timeout_ms;
  return o;
}

bool Client::WaitReady(uint64_t timeout_ms) {
  return loop_.RunUntil([&] { return listener_.Has(RedisConnection::State::kReady); }, timeout_ms);
}

// Kept by the Client until it goes away, so a second callback (a contract breach) is counted
// instead of touching freed memory.
struct Client::Baton {
  std::shared_ptr<Result> result;
  RecordingListener* listener;
  uv_loop_t* loop;
  int* next_order;
};

void Client::OnDone(void* data, redisReply* reply, CommandError error, const char* message) {
  auto* b = static_cast<Baton*>(data);
  Result& r = *b->result;
  ++r.calls;
  if (r.calls == 1) {
    r.error = error;
    r.message = message ? message : "";
    r.depth = b->listener->depth;
    r.at_ms = uv_now(b->loop);
    r.order = (*b->next_order)++;
    if (reply) {
      r.type = reply->type;
      if (reply->str) r.str.assign(reply->str, reply->len);
      r.integer = reply->integer;
      for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; ++i) {
        redisReply* e = reply->element[i];
        r.elements.push_back(e->type == REDIS_REPLY_NIL ? "<nil>"
                             : e->str ? std::string(e->str, e->len) : std::to_string(e->integer));
      }
    }
  }
}

std::shared_ptr<Result> Client::Issue(std::vector<std::string> argv, uint32_t timeout_ms, bool flush_now) {
  auto result = std::make_shared<Result>();
  batons_.push_back(std::make_unique<Baton>(Baton{result, &listener_, loop_.get(), &next_order_}));
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  conn_->Command(static_cast<int>(argv.size()), ptrs.data(), lens.data(), timeout_ms, OnDone,
                 batons_.back().get(), flush_now);
  return result;
}

std::shared_ptr<Result> Client::PubSub(RedisConnection::PubSubOp op, const std::string& name) {
  auto result = std::make_shared<Result>();
  batons_.push_back(std::make_unique<Baton>(Baton{result, &listener_, loop_.get(), &next_order_}));
  conn_->PubSub(op, name, OnDone, batons_.back().get());
  return result;
}

bool Client::CloseAndWait(uint64_t timeout_ms) {
  closed_ = true;
  if (*finished_) return true;
  conn_->Close();
  return loop_.RunUntil([&] { return *finished_; }, timeout_ms) && listener_.closed == 1;
}

void Client::Abort() {
  closed_ = true;
  conn_->Abort();
}

}  // namespace respcache::testing
