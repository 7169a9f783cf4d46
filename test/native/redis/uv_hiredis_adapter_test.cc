// The event adapter's own promises, observed through the libuv calls it makes: the uv_poll_start
// calls of the Redis layer are routed here by the linker (-Wl,--wrap=uv_poll_start).
#include "redis/uv_hiredis_adapter.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <string>
#include <vector>

#include "support/fake_redis_server.h"
#include "support/test_loop.h"

namespace {
std::atomic<int> poll_starts{0};
}  // namespace

extern "C" int __real_uv_poll_start(uv_poll_t* handle, int events, uv_poll_cb cb);
extern "C" int __wrap_uv_poll_start(uv_poll_t* handle, int events, uv_poll_cb cb) {
  ++poll_starts;
  return __real_uv_poll_start(handle, events, cb);
}

namespace respcache::testing {
namespace {

TEST(UvBuild, HeadersMatchTheLibrary) {
  EXPECT_EQ(uv_version(), static_cast<unsigned>(UV_VERSION_HEX));
}

TEST(UvHiredisAdapter, DoesNotReRegisterThePollForEveryReply) {
  // Debian's adapters/libuv.h restarts the poll after every read: about one epoll change per
  // reply. Ours changes it only when the wanted events change.
  constexpr int kCommands = 1000;
  FakeRedisServer server;
  server.On(0, [](FakeConnection& c) {
    int subscriptions = 0;
    Command cmd;
    while (c.Read(&cmd)) {
      if (!c.Write(FakeConnection::DefaultReply(cmd, &subscriptions))) return;
    }
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Client::Tcp(server.port(), 10000));
  ASSERT_TRUE(client.WaitReady());
  const int before = poll_starts.load();
  std::vector<std::shared_ptr<Result>> results;
  for (int i = 0; i < kCommands; ++i) results.push_back(client.Issue({"ECHO", std::to_string(i)}));
  ASSERT_TRUE(loop.RunUntil([&] { return results.back()->done(); }, 10000));
  for (int i = 0; i < kCommands; ++i) ASSERT_EQ(results[i]->str, std::to_string(i));
  // One write batch: a start for writing and one back to reading only, give or take the
  // batches the kernel splits the writes into; never one per reply. At least one proves the
  // wrap sees the adapter's calls.
  const int starts = poll_starts.load() - before;
  EXPECT_GE(starts, 1);
  EXPECT_LE(starts, 4);
}

}  // namespace
}  // namespace respcache::testing
