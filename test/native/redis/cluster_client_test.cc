// ClusterClient against several fake RESP servers playing a cluster: each answers CLUSTER SHARDS
// (or CLUSTER SLOTS) from one slot table the test owns, GET/EVALSHA with its own name ("n0",
// "n1"...), and whatever a test's handler scripts (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, a hang, a
// close). The real-cluster behaviour (resharding, failover) is for the JS tests on a real cluster.
#include "redis/cluster_client.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/cluster_slot.h"
#include "support/fake_redis_server.h"
#include "support/test_loop.h"

namespace respcache::testing {
namespace {

using State = RedisConnection::State;

const std::string kHang = "\x01hang";
const std::string kCloseConn = "\x01close";
constexpr int kFooSlot = 12182;  // KeySlot("foo")

bool Is(const std::string& s, const char* name) { return strcasecmp(s.c_str(), name) == 0; }
std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string Arr(size_t n) { return "*" + std::to_string(n) + "\r\n"; }
std::string Int(long long i) { return ":" + std::to_string(i) + "\r\n"; }

// N fake nodes sharing one slot table. Thread-safe: scripts run on the servers' threads.
class FakeCluster {
 public:
  // Returns the reply bytes, "" for the node's usual answer, kHang or kCloseConn.
  using Handler = std::function<std::string(int node, const Command& cmd, const Command& prev)>;

  explicit FakeCluster(int n) {
    owner_.fill(-1);
    for (int i = 0; i < n; ++i) {
      nodes_.push_back(std::make_unique<FakeRedisServer>());
      nodes_.back()->OnOthers([this, i](FakeConnection& c) { Serve(i, c); });
    }
  }

  FakeRedisServer& node(int i) { return *nodes_[i]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  int port(int i) { return nodes_[i]->port(); }
  std::string addr(int i) { return "127.0.0.1:" + std::to_string(port(i)); }

  void Assign(int first, int last, int node) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int s = first; s <= last; ++s) owner_[s] = node;
  }
  void ThreeMasters() {
    Assign(0, 5460, 0);
    Assign(5461, 10922, 1);
    Assign(10923, 16383, 2);
  }
  // CLUSTER SHARDS lists `n` online replicas beside node i's master entry.
  void SetReplicas(int i, int n) {
    std::lock_guard<std::mutex> lock(mu_);
    replicas_[i] = n;
  }
  void SetHandler(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(h);
  }

  // Commands named `name` that node `i` received, over all its connections.
  int Count(int i, const char* name) {
    int n = 0;
    FakeRedisServer& s = *nodes_[i];
    for (int c = 0, accepted = s.Accepted(); c < accepted; ++c) {
      for (const Command& cmd : s.Received(c)) n += !cmd.empty() && Is(cmd[0], name);
    }
    return n;
  }
  int CountAll(const char* name) {
    int n = 0;
    for (int i = 0; i < size(); ++i) n += Count(i, name);
    return n;
  }

  std::string ShardsReply() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::vector<std::pair<int, int>>> ranges(nodes_.size());
    for (int s = 0; s < 16384; ++s) {
      int n = owner_[s];
      if (n < 0) continue;
      auto& r = ranges[n];
      if (!r.empty() && r.back().second == s - 1) r.back().second = s; else r.emplace_back(s, s);
    }
    std::string body;
    size_t shards = 0;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (ranges[n].empty()) continue;
      ++shards;
      body += Arr(4) + Bulk("slots") + Arr(ranges[n].size() * 2);
      for (auto [a, b] : ranges[n]) body += Int(a) + Int(b);
      const int replicas = replicas_[n];
      body += Bulk("nodes") + Arr(1 + replicas);
      for (int r = 0; r <= replicas; ++r) {
        body += Arr(14) + Bulk("id") + Bulk(std::string(40, 'a' + n) + (r ? std::to_string(r) : "")) +
                Bulk("port") + Int(r ? 1 + r : nodes_[n]->port()) + Bulk("ip") + Bulk("127.0.0.1") +
                Bulk("endpoint") + Bulk("127.0.0.1") + Bulk("role") + Bulk(r ? "replica" : "master") +
                Bulk("replication-offset") + Int(0) + Bulk("health") + Bulk("online");
      }
    }
    return Arr(shards) + body;
  }

  std::string SlotsReply() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string body;
    size_t count = 0;
    for (int s = 0; s < 16384;) {
      int n = owner_[s], e = s;
      while (e + 1 < 16384 && owner_[e + 1] == n) ++e;
      if (n >= 0) {
        ++count;
        body += Arr(3) + Int(s) + Int(e) + Arr(3) + Bulk("127.0.0.1") + Int(nodes_[n]->port()) +
                Bulk(std::string(40, 'a' + n));
      }
      s = e + 1;
    }
    return Arr(count) + body;
  }

 private:
  void Serve(int i, FakeConnection& c) {
    Command cmd, prev;
    int subscriptions = 0;
    while (c.Read(&cmd)) {
      Handler h;
      {
        std::lock_guard<std::mutex> lock(mu_);
        h = handler_;
      }
      std::string reply = h ? h(i, cmd, prev) : "";
      if (reply == kHang) {
        c.Hang();
        return;
      }
      if (reply == kCloseConn) {
        c.Close();
        return;
      }
      if (reply.empty()) {
        if (cmd.size() >= 2 && Is(cmd[0], "CLUSTER") && Is(cmd[1], "SHARDS")) {
          reply = ShardsReply();
        } else if (Is(cmd[0], "GET") || Is(cmd[0], "EVALSHA") || Is(cmd[0], "SET")) {
          reply = Bulk("n" + std::to_string(i));
        } else if (Is(cmd[0], "ASKING")) {
          reply = "+OK\r\n";
        } else {
          reply = FakeConnection::DefaultReply(cmd, &subscriptions);
        }
      }
      if (!c.Write(reply)) return;
      prev = cmd;
    }
  }

  std::vector<std::unique_ptr<FakeRedisServer>> nodes_;
  std::mutex mu_;
  std::array<int, 16384> owner_;
  std::map<int, int> replicas_;
  Handler handler_;
};

// A ClusterClient under test with a recording listener. Wakes the loop whenever a fake node
// records something, so predicates on the servers are re-checked at once.
class Harness : public ClusterClient::Listener {
 public:
  Harness(TestLoop& loop, FakeCluster& cluster, ClusterClient::Options options)
      : Harness(loop, &cluster, std::move(options)) {}
  // A real cluster: no fake nodes to watch.
  Harness(TestLoop& loop, ClusterClient::Options options) : Harness(loop, nullptr, std::move(options)) {}

  Harness(TestLoop& loop, FakeCluster* cluster, ClusterClient::Options options)
      : loop_(loop), cluster_(cluster) {
    uv_async_init(loop.get(), &wake_, [](uv_async_t*) {});
    uv_unref(reinterpret_cast<uv_handle_t*>(&wake_));
    for (int i = 0; cluster && i < cluster->size(); ++i) {
      cluster->node(i).SetObserver([this] { uv_async_send(&wake_); });
    }
    client_ = new ClusterClient(loop.get(), std::move(options), this);
    client_->SetFinishedCallback([](void* arg) { *static_cast<bool*>(arg) = true; }, &finished_);
    client_->Connect();
  }

  ~Harness() override {
    if (!finished_) {
      if (!closed_) client_->Close();
      EXPECT_TRUE(loop_.RunUntil([this] { return finished_; })) << "the client did not finish";
    }
    for (int i = 0; cluster_ && i < cluster_->size(); ++i) cluster_->node(i).SetObserver(nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    uv_run(loop_.get(), UV_RUN_NOWAIT);
  }

  static ClusterClient::Options Seeds(std::vector<int> ports, uint32_t command_timeout_ms = 1000) {
    ClusterClient::Options o;
    for (int p : ports) {
      RedisEndpoint e;
      e.port = p;
      o.seeds.push_back(e);
    }
    o.command_timeout_ms = command_timeout_ms;
    o.connect_timeout_ms = 1000;
    return o;
  }

  ClusterClient& client() { return *client_; }
  bool WaitReady(uint64_t timeout_ms = 5000) {
    return loop_.RunUntil([this] { return client_->state() == State::kReady; }, timeout_ms);
  }

  std::shared_ptr<Result> Issue(std::vector<std::string> argv, uint32_t timeout_ms = 0,
                                int slot = ClusterClient::kAutoSlot) {
    auto b = Prepare(argv);
    client_->Command(static_cast<int>(argv.size()), b->ptrs.data(), b->lens.data(), timeout_ms,
                     OnDone, b, slot);
    return b->result;
  }

  std::shared_ptr<Result> IssueDurable(std::vector<std::string> argv, uint32_t timeout_ms = 0,
                                       int slot = ClusterClient::kAutoSlot) {
    auto b = Prepare(argv);
    client_->CommandDurable(static_cast<int>(argv.size()), b->ptrs.data(), b->lens.data(),
                            timeout_ms, OnDone, b, slot);
    return b->result;
  }

  std::shared_ptr<Result> IssueOnNode(const std::string& addr, std::vector<std::string> argv,
                                      uint32_t timeout_ms = 0) {
    auto b = Prepare(argv);
    client_->CommandOnNode(addr, static_cast<int>(argv.size()), b->ptrs.data(), b->lens.data(),
                           timeout_ms, OnDone, b);
    return b->result;
  }

  bool Wait(const std::shared_ptr<Result>& r, uint64_t timeout_ms = 5000) {
    return loop_.RunUntil([&] { return r->done(); }, timeout_ms);
  }

  void Close() {
    closed_ = true;
    client_->Close();
  }
  void Abort() {
    closed_ = true;
    client_->Abort();
  }
  bool WaitFinished() { return loop_.RunUntil([this] { return finished_; }); }

  void EnterLoopEvent() override { ++depth; }
  void ExitLoopEvent() override { --depth; }
  void OnStateChange(State state, const std::string& error, FailureKind kind) override {
    states.push_back(state);
    errors.push_back(error);
    kinds.push_back(kind);
  }
  void OnTopologyChange(uint64_t epoch) override { epochs.push_back(epoch); }
  void OnRefreshed(uint64_t generation, bool ok, const std::string& error) override {
    ++refreshes;
    generations.push_back(generation);
    if (!ok) refresh_errors.push_back(error);
  }
  void OnClosed() override { ++closed; }

  int depth = 0;
  int closed = 0;
  std::vector<State> states;
  std::vector<std::string> errors;
  std::vector<FailureKind> kinds;
  std::vector<uint64_t> epochs;
  std::vector<uint64_t> generations;  // of each finished refresh
  int refreshes = 0;
  std::vector<std::string> refresh_errors;

 private:
  struct Baton {
    Harness* harness;
    std::vector<std::string> argv;
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    std::shared_ptr<Result> result = std::make_shared<Result>();
  };

  Baton* Prepare(const std::vector<std::string>& argv) {
    auto b = std::make_unique<Baton>();
    b->harness = this;
    b->argv = argv;
    for (const std::string& a : b->argv) {
      b->ptrs.push_back(a.data());
      b->lens.push_back(a.size());
    }
    batons_.push_back(std::move(b));
    return batons_.back().get();
  }

  static void OnDone(void* data, redisReply* reply, CommandError error, const char* message) {
    auto* b = static_cast<Baton*>(data);
    Result& r = *b->result;
    ++r.calls;
    r.error = error;
    r.message = message ? message : "";
    r.depth = b->harness->depth;
    r.at_ms = uv_now(b->harness->loop_.get());
    if (reply) {
      r.type = reply->type;
      if (reply->str) r.str.assign(reply->str, reply->len);
      r.integer = reply->integer;
    }
  }

  TestLoop& loop_;
  FakeCluster* cluster_;
  ClusterClient* client_;
  bool finished_ = false;
  bool closed_ = false;
  uv_async_t wake_;
  std::vector<std::unique_ptr<Baton>> batons_;
};

TEST(ClusterClientRouting, ComputesTheSlotFromTheKeyOrTheScriptsFirstKey) {
  auto route = [](std::vector<std::string> argv) {
    std::vector<const char*> p;
    std::vector<size_t> l;
    for (auto& a : argv) {
      p.push_back(a.data());
      l.push_back(a.size());
    }
    return ClusterClient::RouteSlot(static_cast<int>(argv.size()), p.data(), l.data());
  };
  EXPECT_EQ(route({"GET", "foo"}), kFooSlot);
  EXPECT_EQ(route({"set", "{foo}:e:x", "v"}), kFooSlot);
  EXPECT_EQ(route({"EVALSHA", "abc", "2", "{foo}a", "{foo}b", "arg"}), kFooSlot);
  EXPECT_EQ(route({"eval", "return 1", "1", "foo"}), kFooSlot);
  EXPECT_EQ(route({"EVAL", "return 1", "0", "foo"}), -1);
  EXPECT_EQ(route({"EVAL", "return 1", "x", "foo"}), -1);
  EXPECT_EQ(route({"EVALSHA", "abc"}), -1);
  EXPECT_EQ(route({"PING"}), -1);
  EXPECT_EQ(route({"PUBLISH", "chan", "msg"}), -1);
  EXPECT_EQ(route({"SCAN", "0"}), -1);
}

TEST(ClusterClient, StartsFromTheNextSeedAndRoutesEveryCommandToItsSlotsMaster) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({FakeRedisServer::RefusedPort(), cluster.port(1)}));
  // Issued before any topology is known: it waits for the first one.
  auto early = h.Issue({"GET", "foo"});
  ASSERT_TRUE(h.WaitReady());
  ASSERT_TRUE(h.Wait(early));
  EXPECT_EQ(early->str, "n2");
  auto by_slot = h.Issue({"GET", "foo"}, 0, 0);
  auto script = h.Issue({"EVALSHA", "abc", "1", "{foo}:x"});
  auto keyless = h.Issue({"PING"});
  for (auto& r : {by_slot, script, keyless}) ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(by_slot->str, "n0");
  EXPECT_EQ(script->str, "n2");
  EXPECT_EQ(keyless->str, "PONG");
  for (auto& r : {early, by_slot, script, keyless}) {
    EXPECT_EQ(r->calls, 1);
    EXPECT_EQ(r->depth, 1) << "callbacks fire inside Enter/ExitLoopEvent";
  }
  auto masters = h.client().Masters();
  ASSERT_EQ(masters.size(), 3u);
  std::sort(masters.begin(), masters.end(), [](auto& a, auto& b) { return a.slots[0] < b.slots[0]; });
  EXPECT_EQ(masters[0].addr, cluster.addr(0));
  EXPECT_EQ(masters[0].slots, (std::vector<std::pair<int, int>>{{0, 5460}}));
  EXPECT_EQ(masters[2].slots, (std::vector<std::pair<int, int>>{{10923, 16383}}));
  EXPECT_TRUE(masters[1].ready);
  EXPECT_EQ(h.client().topology_epoch(), 1u);
  EXPECT_EQ(h.states.back(), State::kReady);
}

TEST(ClusterClient, MovedUpdatesTheMapAndResendsAtOnce) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 2 && Is(cmd[0], "GET")) {
      cluster.Assign(kFooSlot, kFooSlot, 0);  // the slot moved to n0
      return "-MOVED " + std::to_string(kFooSlot) + " 127.0.0.1:" + std::to_string(cluster.port(0)) + "\r\n";
    }
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  const int shards_before = cluster.CountAll("CLUSTER");
  auto first = h.Issue({"GET", "foo"});
  ASSERT_TRUE(h.Wait(first));
  EXPECT_EQ(first->str, "n0");
  EXPECT_EQ(h.client().topology_epoch(), 2u);
  // Straight to n0 now: the map was updated by the MOVED itself, before any refresh.
  auto second = h.Issue({"GET", "foo"});
  ASSERT_TRUE(h.Wait(second));
  EXPECT_EQ(second->str, "n0");
  EXPECT_EQ(cluster.Count(2, "GET"), 1);
  EXPECT_EQ(cluster.Count(0, "GET"), 2);
  EXPECT_EQ(first->calls, 1);
  EXPECT_EQ(second->calls, 1);
  // ...and a refresh was scheduled, and reported.
  const int refreshes_before = h.refreshes;
  EXPECT_TRUE(loop.RunUntil([&] { return cluster.CountAll("CLUSTER") > shards_before; }));
  EXPECT_TRUE(loop.RunUntil([&] { return h.refreshes > refreshes_before; }));
  EXPECT_TRUE(h.refresh_errors.empty());
}

TEST(ClusterClient, AskSendsAskingAndTheCommandBackToBackAndLeavesTheMap) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command& prev) -> std::string {
    if (!Is(cmd[0], "GET")) return "";
    const std::string slot = std::to_string(kFooSlot);
    if (node == 2) return "-ASK " + slot + " 127.0.0.1:" + std::to_string(cluster.port(1)) + "\r\n";
    // n1 is importing the slot: only a command right after ASKING is its to serve.
    if (node == 1 && !(prev.size() == 1 && Is(prev[0], "ASKING"))) {
      return "-MOVED " + slot + " 127.0.0.1:" + std::to_string(cluster.port(2)) + "\r\n";
    }
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  for (int round = 1; round <= 2; ++round) {
    auto r = h.Issue({"GET", "foo"});
    ASSERT_TRUE(h.Wait(r));
    EXPECT_EQ(r->str, "n1") << "round " << round;
    EXPECT_EQ(r->calls, 1);
    // The map still says n2: every GET goes there first.
    EXPECT_EQ(cluster.Count(2, "GET"), round);
    EXPECT_EQ(cluster.Count(1, "ASKING"), round);
  }
  EXPECT_EQ(h.client().topology_epoch(), 1u);
}

TEST(ClusterClient, TryAgainIsResentUntilItSucceeds) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  std::atomic<int> refusals{3};
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 2 && Is(cmd[0], "GET") && refusals-- > 0) {
      return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";
    }
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  const uint64_t start = loop.now();
  auto r = h.Issue({"GET", "foo"}, 1000);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->str, "n2");
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(cluster.Count(2, "GET"), 4);
  EXPECT_GE(r->at_ms - start, 3 * 20u) << "resent after 20 ms each time";
}

TEST(ClusterClient, TryAgainGivesUpWithTheReplyAtTheDeadline) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 2 && Is(cmd[0], "GET")) return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  const uint64_t start = loop.now();
  auto r = h.Issue({"GET", "foo"}, 150);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  // The TRYAGAIN reply when another try would not fit in what is left; or kTimeout when the last
  // resend's reply came after the deadline (a slow loop, e.g. under the sanitizers). Either way
  // at the deadline.
  if (r->error == CommandError::kNone) {
    EXPECT_EQ(r->type, REDIS_REPLY_ERROR);
    EXPECT_EQ(r->str.rfind("TRYAGAIN", 0), 0u) << r->str;
  } else {
    EXPECT_EQ(r->error, CommandError::kTimeout) << r->message;
  }
  EXPECT_GE(r->at_ms - start, 150u - 20u);
  EXPECT_LE(r->at_ms - start, 150u + 50u);
  EXPECT_GE(cluster.Count(2, "GET"), 4);
}

TEST(ClusterClient, ARedirectLoopStopsAtMaxRedirections) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (!Is(cmd[0], "GET")) return "";
    const std::string slot = std::to_string(kFooSlot);
    if (node == 2) return "-MOVED " + slot + " 127.0.0.1:" + std::to_string(cluster.port(0)) + "\r\n";
    if (node == 0) return "-MOVED " + slot + " 127.0.0.1:" + std::to_string(cluster.port(2)) + "\r\n";
    return "";
  });
  TestLoop loop;
  auto options = Harness::Seeds({cluster.port(1)});
  options.max_redirections = 5;
  Harness h(loop, cluster, options);
  ASSERT_TRUE(h.WaitReady());
  auto r = h.Issue({"GET", "foo"}, 2000);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(r->str.rfind("MOVED ", 0), 0u) << r->str;
  EXPECT_EQ(cluster.Count(0, "GET") + cluster.Count(2, "GET"), 6) << "the first send and 5 redirects";
}

TEST(ClusterClient, ASlowRedirectTargetStillTimesOutAtTheOriginalDeadline) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (!Is(cmd[0], "GET")) return "";
    if (node == 2) {
      // Answers late, with a redirect to a node that never answers.
      std::this_thread::sleep_for(std::chrono::milliseconds(80));
      return "-MOVED " + std::to_string(kFooSlot) + " 127.0.0.1:" + std::to_string(cluster.port(0)) + "\r\n";
    }
    if (node == 0) return kHang;
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(1)}));
  ASSERT_TRUE(h.WaitReady());
  const uint64_t start = loop.now();
  auto r = h.Issue({"GET", "foo"}, 150);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kTimeout) << r->message;
  EXPECT_TRUE(cluster.node(0).WaitFor([&] { return cluster.Count(0, "GET") == 1; }, std::chrono::seconds(2)))
      << "the redirect was followed";
  EXPECT_GE(r->at_ms - start, 150u);
  EXPECT_LT(r->at_ms - start, 150u + 60u) << "not 80 + 150 ms: one deadline for the whole command";
}

TEST(ClusterClient, ClusterDownRefreshesAndRetriesWithinTheDeadline) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 2 && Is(cmd[0], "GET")) {
      // n2 is cut off (it says so until it is told otherwise); n1 took over its slots.
      cluster.Assign(10923, 16383, 1);
      return "-CLUSTERDOWN The cluster is down\r\n";
    }
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  const int shards_before = cluster.CountAll("CLUSTER");
  auto r = h.Issue({"GET", "foo"}, 2000);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->str, "n1");
  EXPECT_GT(cluster.CountAll("CLUSTER"), shards_before);
  EXPECT_EQ(h.client().topology_epoch(), 2u);
}

TEST(ClusterClient, ClusterDownUntilTheDeadlineIsUnavailable) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 2 && Is(cmd[0], "GET")) return "-CLUSTERDOWN The cluster is down\r\n";
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  const uint64_t start = loop.now();
  auto r = h.Issue({"GET", "foo"}, 350);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  // Not a reply error: the store treats kUnavailable as "bypass Redis".
  EXPECT_EQ(r->error, CommandError::kUnavailable) << r->str;
  EXPECT_EQ(r->message, "CLUSTERDOWN The cluster is down");
  EXPECT_GE(cluster.Count(2, "GET"), 3) << "retried every 100 ms first";
  EXPECT_LE(r->at_ms - start, 350u + 50u);
}

TEST(ClusterClient, AMastersSlotsFailFastWhileItIsDownAndMoveWithTheMap) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  std::atomic<bool> n2_dead{false};
  cluster.SetHandler([&](int node, const Command&, const Command&) -> std::string {
    return node == 2 && n2_dead ? kCloseConn : "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  cluster.node(2).StopListening();
  n2_dead = true;
  auto lost = h.Issue({"GET", "foo"}, 1000);
  ASSERT_TRUE(h.Wait(lost));
  EXPECT_EQ(lost->error, CommandError::kUnavailable) << "in flight when the link dropped: not resent";
  ASSERT_TRUE(loop.RunUntil([&] { return h.client().state() == State::kReconnecting; }));
  const uint64_t issued = loop.now();
  auto fast = h.Issue({"GET", "foo"}, 1000);
  ASSERT_TRUE(h.Wait(fast));
  EXPECT_EQ(fast->error, CommandError::kUnavailable);
  EXPECT_LT(fast->at_ms - issued, 100u) << "fails fast, not at its 1000 ms deadline";
  // Failover: n1 takes n2's slots; a refresh finds it and everything is served again.
  cluster.Assign(10923, 16383, 1);
  ASSERT_TRUE(h.WaitReady(3000));
  auto moved = h.Issue({"GET", "foo"});
  ASSERT_TRUE(h.Wait(moved));
  EXPECT_EQ(moved->str, "n1");
  for (auto& r : {lost, fast, moved}) EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(h.client().Masters().size(), 2u);
}

TEST(ClusterClient, FallsBackToClusterSlotsWhenClusterShardsIsUnknown) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int, const Command& cmd, const Command&) -> std::string {
    if (cmd.size() == 2 && Is(cmd[0], "CLUSTER") && Is(cmd[1], "SHARDS")) {
      return "-ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.\r\n";
    }
    if (cmd.size() == 2 && Is(cmd[0], "CLUSTER") && Is(cmd[1], "SLOTS")) return cluster.SlotsReply();
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  auto r = h.Issue({"GET", "foo"});
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->str, "n2");
}

// What node i received, over all its connections, in order.
std::vector<Command> AllReceived(FakeCluster& cluster, int i) {
  std::vector<Command> all;
  for (int c = 0, n = cluster.node(i).Accepted(); c < n; ++c) {
    for (Command& cmd : cluster.node(i).Received(c)) all.push_back(std::move(cmd));
  }
  return all;
}

TEST(ClusterClient, ADurableCommandIsFollowedByWaitForTheMastersOnlineReplicas) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetReplicas(2, 2);
  cluster.SetHandler([&](int, const Command& cmd, const Command& prev) -> std::string {
    // WAIT counts the replicas that have the command just before it on this connection.
    if (Is(cmd[0], "WAIT")) return Is(prev[0], "SET") ? ":2\r\n" : ":0\r\n";
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  auto r = h.IssueDurable({"SET", "foo", "v"}, 500);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kNone) << r->message;
  EXPECT_EQ(r->str, "n2");
  std::vector<Command> got = AllReceived(cluster, 2);
  auto set = std::find_if(got.begin(), got.end(), [](const Command& c) { return Is(c[0], "SET"); });
  ASSERT_NE(set, got.end());
  ASSERT_NE(set + 1, got.end());
  const Command& wait = *(set + 1);
  ASSERT_EQ(wait.size(), 3u);
  EXPECT_EQ(wait[0], "WAIT");
  EXPECT_EQ(wait[1], "2");
  const int ms = std::stoi(wait[2]);
  EXPECT_GT(ms, 0) << "WAIT 0 would block forever";
  EXPECT_LT(ms, 500);
  // A master without replicas: no WAIT.
  auto plain = h.IssueDurable({"SET", "x", "v"}, 500, 0);
  ASSERT_TRUE(h.Wait(plain));
  EXPECT_EQ(plain->str, "n0");
  EXPECT_EQ(cluster.Count(0, "WAIT"), 0);
}

TEST(ClusterClient, ADurableCommandTooFewReplicasConfirmedIsUnconfirmed) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetReplicas(2, 2);
  cluster.SetHandler([&](int, const Command& cmd, const Command&) -> std::string {
    return Is(cmd[0], "WAIT") ? ":1\r\n" : "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  auto r = h.IssueDurable({"SET", "foo", "v"}, 500);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kUnconfirmed);
  EXPECT_EQ(r->message, "WAIT: 1 of 2 replicas confirmed the write");
  EXPECT_EQ(cluster.Count(2, "SET"), 1) << "not resent: the master has it";
}

// Redis answers a timed-out WAIT at its next event-loop wake-up, up to 1000/hz ms late (100 at
// hz 10). The op must still end at its deadline, as kUnconfirmed, and the late answer must not
// time out on the link, which would then refuse every command until it came.
TEST(ClusterClient, AWaitAnsweredLateEndsUnconfirmedAtTheDeadlineAndLeavesTheLinkUsable) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetReplicas(2, 1);
  std::atomic<int> wait_ms{-1};
  cluster.SetHandler([&](int, const Command& cmd, const Command&) -> std::string {
    if (!Is(cmd[0], "WAIT")) return "";
    wait_ms = std::stoi(cmd[2]);
    // A server-side timeout, then a wake-up 150 ms later: this node is slow.
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms + 150));
    return ":0\r\n";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  const uint64_t start = loop.now();
  auto r = h.IssueDurable({"SET", "foo", "v"}, 300);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kUnconfirmed) << r->message;
  EXPECT_GE(r->at_ms - start, 300u - 20u);
  EXPECT_LE(r->at_ms - start, 300u + 50u) << "settled at its deadline, not at WAIT's late answer";
  EXPECT_GT(wait_ms.load(), 0);
  EXPECT_LE(wait_ms.load(), 300 - 100) << "WAIT's own timeout leaves Redis room to answer late";
  // The link still serves: a GET queues behind the late WAIT answer and is answered.
  auto g = h.Issue({"GET", "foo"}, 1000);
  ASSERT_TRUE(h.Wait(g));
  EXPECT_EQ(g->calls, 1);
  EXPECT_EQ(g->error, CommandError::kNone) << g->message;
  EXPECT_EQ(g->str, "n2");
  EXPECT_EQ(cluster.Count(2, "SET"), 1) << "not resent: the master has it";
}

TEST(ClusterClient, ARedirectedDurableCommandResendsTheCommandAndItsWait) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetReplicas(0, 1);
  cluster.SetReplicas(2, 1);
  cluster.SetHandler([&](int node, const Command& cmd, const Command& prev) -> std::string {
    if (node == 2 && Is(cmd[0], "SET")) {
      return "-MOVED " + std::to_string(kFooSlot) + " 127.0.0.1:" + std::to_string(cluster.port(0)) + "\r\n";
    }
    if (Is(cmd[0], "WAIT")) return Is(prev[0], "SET") && node == 0 ? ":1\r\n" : ":0\r\n";
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(1)}));
  ASSERT_TRUE(h.WaitReady());
  auto r = h.IssueDurable({"SET", "foo", "v"}, 500);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kNone) << r->message;
  EXPECT_EQ(r->str, "n0");
  EXPECT_EQ(cluster.Count(2, "WAIT"), 1);
  EXPECT_EQ(cluster.Count(0, "SET"), 1);
  EXPECT_EQ(cluster.Count(0, "WAIT"), 1);
}

TEST(ClusterClient, ADurableCommandMovedToAMasterNoRefreshHasSeenWaitsForOne) {
  FakeCluster cluster(4);
  cluster.ThreeMasters();
  cluster.SetReplicas(3, 1);
  cluster.SetHandler([&](int node, const Command& cmd, const Command& prev) -> std::string {
    if (node == 2 && Is(cmd[0], "SET")) {
      cluster.Assign(kFooSlot, kFooSlot, 3);  // n3 is new: only a refresh tells its replicas
      return "-MOVED " + std::to_string(kFooSlot) + " 127.0.0.1:" + std::to_string(cluster.port(3)) + "\r\n";
    }
    if (Is(cmd[0], "WAIT")) return Is(prev[0], "SET") ? ":1\r\n" : ":0\r\n";
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  auto r = h.IssueDurable({"SET", "foo", "v"}, 1000);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kNone) << r->message;
  EXPECT_EQ(r->str, "n3");
  EXPECT_EQ(cluster.Count(3, "SET"), 1);
  EXPECT_EQ(cluster.Count(3, "WAIT"), 1) << "WAIT 1, from the refresh, not skipped";
}

TEST(ClusterClient, CommandOnNodeGoesToThatNodeAndFollowsNoRedirect) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 1 && Is(cmd[0], "GET")) return "-MOVED 12182 127.0.0.1:" + std::to_string(cluster.port(2)) + "\r\n";
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  auto r = h.IssueOnNode(cluster.addr(1), {"GET", "foo"});
  auto bad = h.IssueOnNode("nowhere", {"PING"});
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->str.rfind("MOVED", 0), 0u);
  EXPECT_EQ(cluster.Count(2, "GET"), 0);
  EXPECT_EQ(bad->calls, 1);
  EXPECT_EQ(bad->error, CommandError::kUnavailable);
}

TEST(ClusterClient, CloseLetsCommandsInFlightFinishAndFailsTheOthers) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 0 && Is(cmd[0], "GET")) cluster.node(0).Await("answer");
    if (node == 2 && Is(cmd[0], "GET")) return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(1)}));
  ASSERT_TRUE(h.WaitReady());
  auto in_flight = h.Issue({"GET", "x"}, 3000, 0);
  auto retrying = h.Issue({"GET", "foo"}, 3000);
  ASSERT_TRUE(loop.RunUntil([&] { return cluster.Count(0, "GET") == 1 && cluster.Count(2, "GET") >= 1; }));
  h.Close();
  auto after = h.Issue({"GET", "foo"});
  EXPECT_EQ(after->calls, 1) << "fails synchronously";
  EXPECT_EQ(after->error, CommandError::kClosed);
  ASSERT_TRUE(h.Wait(retrying));
  // Waiting for its next try: kClosed; or in flight at Close(): its TRYAGAIN reply. Never resent.
  if (retrying->error == CommandError::kNone) {
    EXPECT_EQ(retrying->str.rfind("TRYAGAIN", 0), 0u) << retrying->str;
  } else {
    EXPECT_EQ(retrying->error, CommandError::kClosed);
  }
  const int tries = cluster.Count(2, "GET");
  EXPECT_FALSE(in_flight->done());
  cluster.node(0).Signal("answer");
  ASSERT_TRUE(h.Wait(in_flight));
  EXPECT_EQ(in_flight->str, "n0");
  ASSERT_TRUE(h.WaitFinished());
  EXPECT_EQ(h.closed, 1);
  EXPECT_EQ(cluster.Count(2, "GET"), tries);
  for (auto& r : {in_flight, retrying, after}) EXPECT_EQ(r->calls, 1);
}

TEST(ClusterClient, CloseStillSettlesADurableCommandAtItsDeadlineWhenWaitIsNotAnswered) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetReplicas(2, 1);
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    return node == 2 && Is(cmd[0], "WAIT") ? kHang : "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  const uint64_t start = loop.now();
  auto r = h.IssueDurable({"SET", "foo", "v"}, 300);
  ASSERT_TRUE(loop.RunUntil([&] { return cluster.Count(2, "WAIT") == 1; }));
  h.Close();
  EXPECT_EQ(r->calls, 0) << "in flight: not failed by Close";
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kUnconfirmed) << r->message;
  EXPECT_LE(r->at_ms - start, 300u + 50u) << "at its deadline, not at WAIT's link timeout";
  ASSERT_TRUE(h.WaitFinished());
  EXPECT_EQ(r->calls, 1);
}

TEST(ClusterClient, CloseFailsCommandsWaitingForTheTopologyAtOnce) {
  FakeCluster cluster(1);
  cluster.Assign(0, 16383, 0);
  cluster.SetHandler([&](int, const Command& cmd, const Command&) -> std::string {
    return Is(cmd[0], "CLUSTER") ? kHang : "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  auto waiting = h.Issue({"GET", "foo"}, 3000);
  ASSERT_TRUE(loop.RunUntil([&] { return cluster.Count(0, "CLUSTER") == 1; }));
  EXPECT_FALSE(waiting->done());
  h.Close();
  EXPECT_EQ(waiting->calls, 1);
  EXPECT_EQ(waiting->error, CommandError::kClosed);
  ASSERT_TRUE(h.WaitFinished());
  EXPECT_EQ(h.closed, 1);
  EXPECT_EQ(waiting->calls, 1);
  EXPECT_EQ(cluster.Count(0, "GET"), 0);
}

TEST(ClusterClient, AbortSettlesEveryCommandAtOnceAndCallsNothingAfter) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 0 && Is(cmd[0], "GET")) return kHang;
    if (node == 2 && Is(cmd[0], "GET")) return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";
    if (node == 1 && Is(cmd[0], "WAIT")) return kHang;  // the SET before it is answered
    return "";
  });
  cluster.SetReplicas(1, 1);
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(1)}));
  ASSERT_TRUE(h.WaitReady());
  auto in_flight = h.Issue({"GET", "x"}, 3000, 0);
  auto retrying = h.Issue({"GET", "foo"}, 3000);
  auto durable = h.IssueDurable({"SET", "y", "v"}, 3000, 6000);
  ASSERT_TRUE(loop.RunUntil([&] {
    return cluster.Count(0, "GET") == 1 && cluster.Count(2, "GET") >= 1 && cluster.Count(1, "WAIT") == 1;
  }));
  // The SET's reply was written before WAIT was read; nothing observable says it has been read
  // here, so give the loop a moment (if it has not, the SET itself is aborted: same outcome).
  loop.RunUntil([] { return false; }, 20);
  h.Abort();
  for (auto& r : {in_flight, retrying, durable}) {
    EXPECT_EQ(r->calls, 1);
    EXPECT_EQ(r->error, CommandError::kAborted);
  }
  ASSERT_TRUE(h.WaitFinished());
  EXPECT_EQ(h.closed, 0) << "no listener call after Abort";
  for (auto& r : {in_flight, retrying, durable}) EXPECT_EQ(r->calls, 1);
}

TEST(ClusterClient, TimesOutWaitingForATopologyNoSeedGives) {
  TestLoop loop;
  FakeCluster cluster(1);  // serves no slots: its CLUSTER SHARDS is empty
  Harness h(loop, cluster, Harness::Seeds({FakeRedisServer::RefusedPort(), cluster.port(0)}));
  const uint64_t start = loop.now();
  auto r = h.Issue({"GET", "foo"}, 200);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->error, CommandError::kTimeout);
  EXPECT_GE(r->at_ms - start, 200u);
  EXPECT_EQ(h.client().state(), State::kConnecting);
  ASSERT_FALSE(h.errors.empty());
  EXPECT_NE(h.errors.back().find("could not read the cluster's topology"), std::string::npos) << h.errors.back();
  ASSERT_FALSE(h.refresh_errors.empty());
  EXPECT_NE(h.refresh_errors.back().find("no master serving slots"), std::string::npos) << h.refresh_errors.back();
}

TEST(ClusterClient, EveryNodeConnectionLoadsThePreloadedScriptsBeforeItsFirstCommand) {
  FakeCluster cluster(4);
  cluster.ThreeMasters();
  std::atomic<bool> moved{false};  // set on a server thread
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (Is(cmd[0], "SCRIPT")) return Bulk(std::string(40, 'f'));
    if (node == 2 && Is(cmd[0], "GET") && cmd[1] == "foo" && !moved.exchange(true)) {
      cluster.Assign(kFooSlot, kFooSlot, 3);  // to n3, a node no link has reached yet
      return "-MOVED " + std::to_string(kFooSlot) + " " + cluster.addr(3) + "\r\n";
    }
    return "";
  });
  TestLoop loop;
  auto options = Harness::Seeds({cluster.port(0)});
  options.preload = {"return 1", "return 2"};
  Harness h(loop, cluster, std::move(options));
  ASSERT_TRUE(h.WaitReady());
  // Each connection's commands, in order, as the node received them.
  auto connections = [&](int node) {
    std::vector<std::vector<std::string>> out;
    for (int c = 0; c < cluster.node(node).Accepted(); ++c) {
      std::vector<std::string> names;
      for (const Command& cmd : cluster.node(node).Received(c)) {
        names.push_back(cmd[0] + (cmd.size() > 2 && Is(cmd[0], "SCRIPT") ? " " + cmd[1] + " " + cmd[2] : ""));
      }
      out.push_back(names);
    }
    return out;
  };
  auto loaded = [](const std::vector<std::string>& names) {
    return names.size() >= 2 && names[0] == "SCRIPT LOAD return 1" && names[1] == "SCRIPT LOAD return 2";
  };
  for (int n = 0; n < 3; ++n) {
    auto r = h.Issue({"GET", "x"}, 2000, n == 0 ? 0 : n == 1 ? 5461 : 10923);
    ASSERT_TRUE(h.Wait(r));
    EXPECT_EQ(r->str, "n" + std::to_string(n));
  }
  // n0 was the seed: its probe connection asked for the topology only, its master link loaded
  // both scripts first.
  auto n0 = connections(0);
  ASSERT_EQ(n0.size(), 2u);
  EXPECT_EQ(n0[0], (std::vector<std::string>{"CLUSTER"}));
  EXPECT_TRUE(loaded(n0[1])) << n0[1].size();
  for (int n = 1; n < 3; ++n) {
    auto links = connections(n);
    ASSERT_EQ(links.size(), 1u);
    EXPECT_TRUE(loaded(links[0]));
    EXPECT_EQ(links[0].back(), "GET");
  }
  // The link a MOVED opens loads them too, before the resent command.
  auto r = h.Issue({"GET", "foo"}, 2000);
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->str, "n3");
  auto n3 = connections(3);
  ASSERT_EQ(n3.size(), 1u);
  ASSERT_EQ(n3[0].size(), 3u);
  EXPECT_TRUE(loaded(n3[0]));
  EXPECT_EQ(n3[0][2], "GET");
}

TEST(ClusterClient, AClusterDownAnsweredWhileClosingIsStillUnavailable) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (node == 2 && (Is(cmd[0], "GET") || Is(cmd[0], "SET"))) {
      cluster.node(2).Await("answer");
      return "-CLUSTERDOWN The cluster is down\r\n";
    }
    return "";
  });
  TestLoop loop;
  auto options = Harness::Seeds({cluster.port(0)});
  Harness h(loop, cluster, std::move(options));
  ASSERT_TRUE(h.WaitReady());
  auto r = h.Issue({"GET", "foo"}, 3000);
  ASSERT_TRUE(loop.RunUntil([&] { return cluster.Count(2, "GET") == 1; }));
  h.Close();
  EXPECT_FALSE(r->done());
  cluster.node(2).Signal("answer");
  ASSERT_TRUE(h.Wait(r));
  EXPECT_EQ(r->calls, 1);
  // As when the cluster is still down at the deadline: not a reply to the command, and not resent.
  EXPECT_EQ(r->error, CommandError::kUnavailable) << r->str;
  EXPECT_EQ(r->message, "CLUSTERDOWN The cluster is down");
  ASSERT_TRUE(h.WaitFinished());
  EXPECT_EQ(cluster.Count(2, "GET"), 1);
}

TEST(ClusterClient, ARefreshAskedForDuringOneRunsAgainWithTheNextGeneration) {
  FakeCluster cluster(3);
  cluster.ThreeMasters();
  std::atomic<bool> hold{false};
  cluster.SetHandler([&](int node, const Command& cmd, const Command&) -> std::string {
    if (cmd.size() >= 2 && Is(cmd[0], "CLUSTER") && hold.exchange(false)) cluster.node(node).Await("shards");
    return "";
  });
  TestLoop loop;
  Harness h(loop, cluster, Harness::Seeds({cluster.port(0)}));
  ASSERT_TRUE(h.WaitReady());
  ASSERT_TRUE(loop.RunUntil([&] { return h.refreshes == 1; }));
  EXPECT_EQ(h.client().refreshes_started(), 1u);
  const int asked = cluster.CountAll("CLUSTER");
  hold = true;
  h.client().Refresh();
  ASSERT_TRUE(loop.RunUntil([&] { return cluster.CountAll("CLUSTER") == asked + 1; }));
  EXPECT_EQ(h.client().refreshes_started(), 2u);
  // Asked for while refresh 2 is out: refresh 2 may have read the map before what the caller
  // wants to see, so a refresh 3 follows it.
  const uint64_t seen_at_call = h.client().refreshes_started();
  h.client().Refresh();
  cluster.Assign(0, 100, 1);
  for (int n = 0; n < 3; ++n) cluster.node(n).Signal("shards");
  ASSERT_TRUE(loop.RunUntil([&] { return h.refreshes == 3; }));
  EXPECT_EQ(h.generations, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_GT(h.generations.back(), seen_at_call);
  EXPECT_EQ(cluster.CountAll("CLUSTER"), asked + 2);
  EXPECT_TRUE(h.refresh_errors.empty());
}

// ---------------------------------------------------------------------------------------------
// On a real cluster: three masters with one replica each (redis-server 7.0.15 here), started by
// the suite on loopback ports whose bus ports (+10000) are free too. What the fakes cannot show:
// real CLUSTER SHARDS, real MOVED/ASK during a hand-made slot migration, WAIT with a real
// replica, and a master SIGKILLed and replaced by its replica.

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// Polls a state outside the loop (redis-cli): every 50 ms, up to `timeout_ms`.
bool PollFor(const std::function<bool()>& pred, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 50) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class RealCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/respcache-cluster-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (int candidate = 30000 + (getpid() * 37) % 15000; !base_; candidate += 7) {
      if (candidate > 45000) candidate = 30000;
      bool free = true;
      for (int i = 0; i < 6 && free; ++i) free = PortFree(candidate + i) && PortFree(candidate + i + 10000);
      if (free) base_ = candidate;
    }
    std::string addrs;
    for (int i = 0; i < 6; ++i) {
      const std::string p = std::to_string(base_ + i);
      const std::string start = "redis-server --bind 127.0.0.1 --port " + p +
                                " --save '' --appendonly no --cluster-enabled yes --cluster-node-timeout 1000"
                                " --dir '" + dir_ + "' --cluster-config-file nodes-" + p + ".conf" +
                                " --daemonize yes --pidfile '" + dir_ + "/" + p + ".pid' --logfile '" +
                                dir_ + "/" + p + ".log'";
      ASSERT_EQ(std::system(start.c_str()), 0) << start;
      addrs += " 127.0.0.1:" + p;
    }
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(PollFor([&] { return Cli(i, "PING") == "PONG"; }, 5000)) << "node " << i;
    }
    const std::string create = "redis-cli --cluster create" + addrs +
                               " --cluster-replicas 1 --cluster-yes >/dev/null 2>&1";
    ASSERT_EQ(std::system(create.c_str()), 0) << create;
    ASSERT_TRUE(PollFor([] {
      for (int i = 0; i < 6; ++i) {
        if (Cli(i, "CLUSTER INFO").find("cluster_state:ok") == std::string::npos) return false;
      }
      // Every replica attached and seen online by every node (the client may ask any of them).
      for (int i = 0; i < 6; ++i) {
        const std::string shards = Cli(i, "CLUSTER SHARDS");
        size_t online = 0;
        for (size_t at = 0; (at = shards.find("\nonline", at)) != std::string::npos; ++at) ++online;
        if (online != 6) return false;
      }
      return true;
    }, 15000)) << "the cluster did not become ok";
  }

  static void TearDownTestSuite() {
    for (int i = 0; i < 6; ++i) Kill(i);
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  static std::string Cli(int node, const std::string& args) {
    return Shell("redis-cli -p " + std::to_string(base_ + node) + " " + args + " 2>&1");
  }
  static void Kill(int node) {
    std::ifstream pid(dir_ + "/" + std::to_string(base_ + node) + ".pid");
    int p = 0;
    if (pid >> p && p > 0) kill(p, SIGKILL);
  }
  // The node index (0..5) of the master serving `slot`, from node `ask`'s CLUSTER NODES.
  static int MasterOf(int slot, int ask = 0) {
    std::istringstream lines(Cli(ask, "CLUSTER NODES"));
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream f(line);
      std::string id, addr, flags, master, ping, pong, epoch, link, range;
      f >> id >> addr >> flags >> master >> ping >> pong >> epoch >> link;
      if (flags.find("master") == std::string::npos || flags.find("fail") != std::string::npos) continue;
      while (f >> range) {
        if (range[0] == '[') continue;
        size_t dash = range.find('-');
        int a = std::stoi(range.substr(0, dash));
        int b = dash == std::string::npos ? a : std::stoi(range.substr(dash + 1));
        if (slot >= a && slot <= b) return std::stoi(addr.substr(addr.find(':') + 1)) - base_;
      }
    }
    return -1;
  }
  static std::string IdOf(int node) { return Cli(node, "CLUSTER MYID"); }

  static std::string dir_;
  static int base_;
};

std::string RealCluster::dir_;
int RealCluster::base_ = 0;

TEST_F(RealCluster, RoutesFollowsAMigrationWaitsForReplicasAndSurvivesAFailover) {
  TestLoop loop;
  auto options = Harness::Seeds({base_ + 3, base_}, 1000);
  Harness h(loop, options);
  ASSERT_TRUE(h.WaitReady());
  auto masters = h.client().Masters();
  ASSERT_EQ(masters.size(), 3u);
  for (const auto& m : masters) EXPECT_EQ(m.online_replicas, 1) << m.addr;

  // 1000 keys, each routed by our KeySlot: a single disagreement with the server would be a MOVED,
  // which bumps the epoch.
  std::vector<std::shared_ptr<Result>> sets;
  for (int i = 0; i < 1000; ++i) sets.push_back(h.Issue({"SET", "k" + std::to_string(i), "v" + std::to_string(i)}));
  ASSERT_TRUE(loop.RunUntil([&] { return std::all_of(sets.begin(), sets.end(), [](auto& r) { return r->done(); }); }));
  for (auto& r : sets) ASSERT_EQ(r->str, "OK") << r->message;
  EXPECT_EQ(h.client().topology_epoch(), 1u);
  EXPECT_EQ(Shell("redis-cli -c -p " + std::to_string(base_) + " GET k777"), "v777");

  // Durable: WAIT 1 behind the SET, answered by the real replica.
  auto durable = h.IssueDurable({"SET", "d", "1"}, 2000);
  ASSERT_TRUE(h.Wait(durable));
  EXPECT_EQ(durable->error, CommandError::kNone) << durable->message;
  EXPECT_EQ(durable->str, "OK");

  // Move slot 12182 ("foo", "{foo}b") by hand: first only "foo" migrates (ASK), then the slot (MOVED).
  for (auto& r : {h.Issue({"SET", "foo", "bar"}), h.Issue({"SET", "{foo}b", "baz"})}) {
    ASSERT_TRUE(h.Wait(r));
    ASSERT_EQ(r->str, "OK");
  }
  const int from = MasterOf(kFooSlot);
  ASSERT_GE(from, 0);
  const int to = MasterOf(0) == from ? MasterOf(16383) : MasterOf(0);
  const std::string slot = std::to_string(kFooSlot);
  ASSERT_EQ(Cli(to, "CLUSTER SETSLOT " + slot + " IMPORTING " + IdOf(from)), "OK");
  ASSERT_EQ(Cli(from, "CLUSTER SETSLOT " + slot + " MIGRATING " + IdOf(to)), "OK");
  ASSERT_EQ(Cli(from, "MIGRATE 127.0.0.1 " + std::to_string(base_ + to) + " foo 0 5000"), "OK");
  auto asked = h.Issue({"GET", "foo"});
  auto stayed = h.Issue({"GET", "{foo}b"});
  ASSERT_TRUE(h.Wait(asked));
  ASSERT_TRUE(h.Wait(stayed));
  EXPECT_EQ(asked->str, "bar") << "ASK followed with ASKING";
  EXPECT_EQ(stayed->str, "baz");
  EXPECT_EQ(h.client().topology_epoch(), 1u) << "ASK leaves the map alone";
  ASSERT_EQ(Cli(from, "MIGRATE 127.0.0.1 " + std::to_string(base_ + to) + " {foo}b 0 5000"), "OK");
  for (int n : {to, from}) ASSERT_EQ(Cli(n, "CLUSTER SETSLOT " + slot + " NODE " + IdOf(to)), "OK");
  auto moved = h.Issue({"GET", "{foo}b"});
  ASSERT_TRUE(h.Wait(moved));
  EXPECT_EQ(moved->str, "baz") << "MOVED followed";
  EXPECT_GE(h.client().topology_epoch(), 2u);

  // SIGKILL the master of slot 0: its slots fail (never hang past the deadline), then its replica
  // is promoted and a refresh finds it.
  const int victim = MasterOf(0);
  ASSERT_GE(victim, 0);
  std::string key0;  // a key in slot 0's master range
  for (int i = 0; key0.empty(); ++i) {
    std::string k = "z" + std::to_string(i);
    if (KeySlot(k) < 100) key0 = k;
  }
  Kill(victim);
  const uint64_t killed = loop.now();
  auto during = h.Issue({"GET", key0}, 300);
  ASSERT_TRUE(h.Wait(during));
  EXPECT_NE(during->error, CommandError::kNone);
  EXPECT_LE(during->at_ms - killed, 300u + 50u);
  const std::string dead = "127.0.0.1:" + std::to_string(base_ + victim);
  ASSERT_TRUE(loop.RunUntil([&] {
    if (h.client().state() != State::kReady) return false;
    const auto now_masters = h.client().Masters();
    return std::none_of(now_masters.begin(), now_masters.end(), [&](const auto& m) { return m.addr == dead; });
  }, 10000)) << "not served again after the failover";
  const uint64_t served = loop.now();
  auto after = h.Issue({"SET", key0, "x"});
  ASSERT_TRUE(h.Wait(after));
  EXPECT_EQ(after->str, "OK") << after->message;
  std::printf("[ info ] failover: slots served again %llu ms after SIGKILL\n",
              static_cast<unsigned long long>(served - killed));
}

}  // namespace
}  // namespace respcache::testing
