// CLUSTER SHARDS / CLUSTER SLOTS decoding, fed through hiredis's reader as the client gets them:
// replies captured from a real 3-master + 3-replica cluster (fixtures/capture-cluster-replies.sh,
// redis-server 7.0.15 on loopback, masters 37101-37103, replicas 37104-37106), then malformed
// replies, which must fail with a message and never crash (ASan/UBSan in --sanitize).
#include "redis/cluster_topology.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

namespace respcache {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const { if (r) freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// One complete reply from `bytes`, or null (incomplete, or a protocol error).
ReplyPtr Decode(const std::string& bytes) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, bytes.data(), bytes.size());
  void* r = nullptr;
  if (redisReaderGetReply(reader, &r) != REDIS_OK) r = nullptr;
  redisReaderFree(reader);
  return ReplyPtr(static_cast<redisReply*>(r));
}

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(RESPCACHE_CLUSTER_FIXTURES) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// RESP builders for hand-made replies.
std::string A(size_t n) { return "*" + std::to_string(n) + "\r\n"; }
std::string B(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string I(long long i) { return ":" + std::to_string(i) + "\r\n"; }
const std::string kNil = "$-1\r\n";

std::string Node(const std::string& id, int port, const std::string& role, const std::string& health,
                 const std::string& endpoint = "127.0.0.1") {
  return A(14) + B("id") + B(id) + B("port") + I(port) + B("ip") + B("127.0.0.1") + B("endpoint") +
         B(endpoint) + B("role") + B(role) + B("replication-offset") + I(14) + B("health") + B(health);
}

std::string Shard(const std::string& slots, size_t slot_count, const std::string& nodes, size_t node_count) {
  return A(4) + B("slots") + A(slot_count) + slots + B("nodes") + A(node_count) + nodes;
}

const std::string kId1(40, 'a'), kId2(40, 'b'), kId3(40, 'c');

bool ParseShards(const std::string& bytes, ClusterTopology* t, std::string* error) {
  ReplyPtr r = Decode(bytes);
  EXPECT_TRUE(r) << "the test's RESP does not decode";
  return ParseClusterShards(r.get(), t, error);
}

bool ParseSlots(const std::string& bytes, ClusterTopology* t, std::string* error) {
  ReplyPtr r = Decode(bytes);
  EXPECT_TRUE(r) << "the test's RESP does not decode";
  return ParseClusterSlots(r.get(), t, error);
}

TEST(ClusterTopology, DecodesTheShardsOfAHealthyCluster) {
  ClusterTopology t;
  std::string error;
  ASSERT_TRUE(ParseShards(Fixture("shards-healthy.resp"), &t, &error)) << error;
  EXPECT_TRUE(t.complete);
  ASSERT_EQ(t.shards.size(), 3u);
  EXPECT_EQ(t.Describe(0), "127.0.0.1:37101");
  EXPECT_EQ(t.Describe(5460), "127.0.0.1:37101");
  EXPECT_EQ(t.Describe(5461), "127.0.0.1:37102");
  EXPECT_EQ(t.Describe(10922), "127.0.0.1:37102");
  EXPECT_EQ(t.Describe(10923), "127.0.0.1:37103");
  EXPECT_EQ(t.Describe(16383), "127.0.0.1:37103");
  for (const ClusterShard& s : t.shards) {
    EXPECT_EQ(s.id.size(), 40u);
    EXPECT_EQ(s.online_replicas, 1) << s.port;
    ASSERT_EQ(s.replica_addrs.size(), 1u);
    // --cluster create paired 37101..37103 with replicas among 37104..37106.
    EXPECT_GE(s.replica_addrs[0], "127.0.0.1:37104");
    EXPECT_LE(s.replica_addrs[0], "127.0.0.1:37106");
  }
}

TEST(ClusterTopology, LeavesTheSlotsOfAFailedMasterUnserved) {
  ClusterTopology t;
  std::string error;
  ASSERT_TRUE(ParseShards(Fixture("shards-master-failed.resp"), &t, &error)) << error;
  EXPECT_FALSE(t.complete);
  EXPECT_EQ(t.shards.size(), 2u);
  EXPECT_EQ(t.Describe(0), "");
  EXPECT_EQ(t.Describe(5460), "");
  EXPECT_EQ(t.Describe(5461), "127.0.0.1:37102");
  EXPECT_EQ(t.Describe(16383), "127.0.0.1:37103");
}

TEST(ClusterTopology, FollowsAPromotedReplicaAndSkipsTheDeadMastersEmptyShard) {
  ClusterTopology t;
  std::string error;
  ASSERT_TRUE(ParseShards(Fixture("shards-promoted.resp"), &t, &error)) << error;
  EXPECT_TRUE(t.complete);
  ASSERT_EQ(t.shards.size(), 3u);
  EXPECT_EQ(t.Describe(0), "127.0.0.1:37105");
  EXPECT_EQ(t.shards[t.slot_to_shard[0]].online_replicas, 0);  // its old master is dead
  EXPECT_EQ(t.shards[t.slot_to_shard[16383]].online_replicas, 1);
}

TEST(ClusterTopology, DecodesClusterSlotsToTheSameMapAsClusterShards) {
  ClusterTopology shards, slots;
  std::string error;
  ASSERT_TRUE(ParseShards(Fixture("shards-healthy.resp"), &shards, &error)) << error;
  ASSERT_TRUE(ParseSlots(Fixture("slots-healthy.resp"), &slots, &error)) << error;
  EXPECT_TRUE(slots.complete);
  ASSERT_EQ(slots.shards.size(), 3u);
  for (int s = 0; s < 16384; ++s) ASSERT_EQ(slots.Describe(s), shards.Describe(s)) << "slot " << s;
  for (const ClusterShard& s : slots.shards) {
    EXPECT_EQ(s.online_replicas, 1);
    bool same_replica = false;
    for (const ClusterShard& o : shards.shards) same_replica |= o.replica_addrs == s.replica_addrs && o.port == s.port;
    EXPECT_TRUE(same_replica) << s.port;
    bool same_id = false;
    for (const ClusterShard& o : shards.shards) same_id |= o.id == s.id && o.port == s.port;
    EXPECT_TRUE(same_id) << s.id;
  }
}

// CLUSTER SLOTS carries no health: a dead master is still listed until its replica takes over.
// That is why CLUSTER SHARDS is asked first.
TEST(ClusterTopology, ClusterSlotsStillListsAFailedMaster) {
  ClusterTopology t;
  std::string error;
  ASSERT_TRUE(ParseSlots(Fixture("slots-master-failed.resp"), &t, &error)) << error;
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.Describe(0), "127.0.0.1:37101");
}

TEST(ClusterTopology, DecodesAHandMadeReplyAndCountsEveryReplicaThatHasNotFailed) {
  ClusterTopology t;
  std::string error;
  // Redis 7.0 reports every replica of a fresh cluster as "loading" until the first write: they
  // are connected and acknowledge WAIT, so they count (else no WAIT, and no durability).
  std::string bytes = A(1) + Shard(I(0) + I(16383), 2,
                                   Node(kId1, 7000, "master", "online", "db-1.example") +
                                       Node(kId2, 7001, "replica", "online") +
                                       Node(kId3, 7002, "replica", "loading") +
                                       Node(std::string(40, 'd'), 7003, "replica", "fail"),
                                   4);
  ASSERT_TRUE(ParseShards(bytes, &t, &error)) << error;
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.Describe(42), "db-1.example:7000");  // the endpoint wins over the ip
  EXPECT_EQ(t.shards[0].online_replicas, 2) << "online + loading; not the failed one";
  EXPECT_EQ(t.shards[0].replica_addrs, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
}

TEST(ClusterTopology, UsesTheIpWhenTheEndpointIsUnknown) {
  ClusterTopology t;
  std::string error;
  std::string bytes = A(1) + Shard(I(0) + I(16383), 2, Node(kId1, 7000, "master", "online", "?"), 1);
  ASSERT_TRUE(ParseShards(bytes, &t, &error)) << error;
  EXPECT_EQ(t.Describe(1), "127.0.0.1:7000");
}

// A node with `ports` as its port fields ("port" and/or "tls-port", Redis lists only those that
// are not 0): what CLUSTER SHARDS says on a cluster with --tls-cluster yes.
std::string TlsNode(const std::string& id, const std::string& ports, size_t port_fields,
                    const std::string& role) {
  return A(12 + 2 * port_fields) + B("id") + B(id) + ports + B("ip") + B("127.0.0.1") +
         B("endpoint") + B("127.0.0.1") + B("role") + B(role) + B("replication-offset") + I(14) +
         B("health") + B("online");
}

TEST(ClusterTopology, ATlsClientUsesTheTlsPortAndAPlainOneThePort) {
  // A TLS-only node (--port 0) lists only "tls-port"; one with both ports lists both.
  std::string bytes =
      A(2) +
      Shard(I(0) + I(8191), 2,
            TlsNode(kId1, B("tls-port") + I(7100), 1, "master") +
                TlsNode(kId2, B("tls-port") + I(7101), 1, "replica"),
            2) +
      Shard(I(8192) + I(16383), 2,
            TlsNode(kId3, B("port") + I(6200) + B("tls-port") + I(7200), 2, "master"), 1);
  ClusterTopology tls;
  std::string error;
  ReplyPtr r = Decode(bytes);
  ASSERT_TRUE(r);
  ASSERT_TRUE(ParseClusterShards(r.get(), &tls, &error, /*tls=*/true)) << error;
  EXPECT_EQ(tls.Describe(0), "127.0.0.1:7100");
  EXPECT_EQ(tls.Describe(16383), "127.0.0.1:7200");
  EXPECT_EQ(tls.shards[0].online_replicas, 1);
  EXPECT_EQ(tls.shards[0].replica_addrs, (std::vector<std::string>{"127.0.0.1:7101"}));
  // A plaintext client cannot use a TLS-only node: no port for it.
  ClusterTopology plain;
  EXPECT_FALSE(ParseClusterShards(r.get(), &plain, &error, /*tls=*/false));
  EXPECT_EQ(error, "CLUSTER SHARDS: shard 0: the master has no valid port");
  const std::string both = A(1) + Shard(I(0) + I(16383), 2,
                                        TlsNode(kId3, B("port") + I(6200) + B("tls-port") + I(7200), 2, "master"), 1);
  r = Decode(both);
  ASSERT_TRUE(ParseClusterShards(r.get(), &plain, &error, /*tls=*/false)) << error;
  EXPECT_EQ(plain.Describe(5), "127.0.0.1:6200");
}

TEST(ClusterTopology, LeavesSlotsNoShardListsUnserved) {
  ClusterTopology t;
  std::string error;
  std::string bytes = A(1) + Shard(I(0) + I(99) + I(200) + I(299), 4, Node(kId1, 7000, "master", "online"), 1);
  ASSERT_TRUE(ParseShards(bytes, &t, &error)) << error;
  EXPECT_FALSE(t.complete);
  EXPECT_EQ(t.Describe(99), "127.0.0.1:7000");
  EXPECT_EQ(t.Describe(100), "");
  EXPECT_EQ(t.Describe(299), "127.0.0.1:7000");
  EXPECT_EQ(t.Describe(16384), "");
  EXPECT_EQ(t.Describe(-1), "");
}

struct Malformed {
  const char* what;
  std::string bytes;
  const char* message;  // a substring of the error
};

TEST(ClusterTopology, RejectsMalformedClusterShardsReplies) {
  const Malformed cases[] = {
      {"a status", "+OK\r\n", "expected an array"},
      {"an error", "-ERR unknown subcommand\r\n", "expected an array"},
      {"nil", kNil, "expected an array"},
      {"a shard that is a string", A(1) + B("x"), "not a field/value list"},
      {"an odd field list", A(1) + A(3) + B("slots") + A(0) + B("nodes"), "not a field/value list"},
      {"a field name that is an integer", A(1) + A(2) + I(1) + I(2), "not a field/value list"},
      {"no slots", A(1) + A(2) + B("nodes") + A(0), "\"slots\""},
      {"slots not an array", A(1) + A(4) + B("slots") + B("0-5") + B("nodes") + A(0), "\"slots\""},
      {"an odd slot list", A(1) + Shard(I(0), 1, Node(kId1, 1, "master", "online"), 1), "\"slots\""},
      {"no nodes", A(1) + A(2) + B("slots") + A(0), "\"nodes\""},
      {"nodes nil", A(1) + A(4) + B("slots") + A(0) + B("nodes") + kNil, "\"nodes\""},
      {"slot 16384", A(1) + Shard(I(0) + I(16384), 2, Node(kId1, 1, "master", "online"), 1), "0..16383"},
      {"slot -1", A(1) + Shard(I(-1) + I(5), 2, Node(kId1, 1, "master", "online"), 1), "0..16383"},
      {"slot as a string", A(1) + Shard(B("0") + I(5), 2, Node(kId1, 1, "master", "online"), 1), "0..16383"},
      {"a huge slot", A(1) + Shard(I(0) + I(9223372036854775807LL), 2, Node(kId1, 1, "master", "online"), 1), "0..16383"},
      {"a reversed range", A(1) + Shard(I(10) + I(5), 2, Node(kId1, 1, "master", "online"), 1), "reversed"},
      {"a slot claimed twice",
       A(2) + Shard(I(0) + I(10), 2, Node(kId1, 1, "master", "online"), 1) +
           Shard(I(10) + I(20), 2, Node(kId2, 2, "master", "online"), 1),
       "two masters"},
      {"a range listed twice in one shard",
       A(1) + Shard(I(0) + I(10) + I(5) + I(6), 4, Node(kId1, 1, "master", "online"), 1), "listed twice"},
      {"two masters in a shard",
       A(1) + Shard(I(0) + I(5), 2, Node(kId1, 1, "master", "online") + Node(kId2, 2, "master", "online"), 2),
       "two masters"},
      {"a node without role", A(1) + Shard(I(0) + I(5), 2, A(2) + B("health") + B("online"), 1), "no role or health"},
      {"a node that is nil", A(1) + Shard(I(0) + I(5), 2, kNil, 1), "not a field/value list"},
      {"port 0", A(1) + Shard(I(0) + I(5), 2, Node(kId1, 0, "master", "online"), 1), "valid port"},
      {"port 65536", A(1) + Shard(I(0) + I(5), 2, Node(kId1, 65536, "master", "online"), 1), "valid port"},
      {"an empty id", A(1) + Shard(I(0) + I(5), 2, Node("", 1, "master", "online"), 1), "no id"},
      {"an address with a space and no ip",
       A(1) + Shard(I(0) + I(5), 2,
                    A(10) + B("id") + B(kId1) + B("port") + I(1) + B("endpoint") + B("a b") + B("role") +
                        B("master") + B("health") + B("online"),
                    1),
       "no usable address"},
  };
  for (const Malformed& c : cases) {
    ClusterTopology t;
    t.shards.push_back({"untouched", "h", 1, 0, {}});
    std::string error;
    ReplyPtr r = Decode(c.bytes);
    ASSERT_TRUE(r) << c.what << ": the test's RESP does not decode";
    EXPECT_FALSE(ParseClusterShards(r.get(), &t, &error)) << c.what;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.what << ": " << error;
    ASSERT_EQ(t.shards.size(), 1u) << c.what << ": a failed parse must leave the output alone";
    EXPECT_EQ(t.shards[0].id, "untouched");
  }
}

TEST(ClusterTopology, RejectsMalformedClusterSlotsReplies) {
  const std::string master = A(3) + B("127.0.0.1") + I(7000) + B(kId1);
  const Malformed cases[] = {
      {"an integer", I(3), "expected an array"},
      {"a range too short", A(1) + A(2) + I(0) + I(5), "not [start, end"},
      {"a range that is nil", A(1) + kNil, "not [start, end"},
      {"slot 16384", A(1) + A(3) + I(0) + I(16384) + master, "0..16383"},
      {"a master that is a string", A(1) + A(3) + I(0) + I(5) + B("127.0.0.1:7000"), "[host, port"},
      {"a port that is a string", A(1) + A(3) + I(0) + I(5) + A(2) + B("127.0.0.1") + B("7000"), "[host, port"},
      {"a host with a newline", A(1) + A(3) + I(0) + I(5) + A(2) + B("a\nb") + I(7000), "no usable address"},
      {"a slot claimed twice",
       A(2) + A(3) + I(0) + I(5) + master + A(3) + I(5) + I(6) + A(3) + B("127.0.0.1") + I(7001) + B(kId2),
       "two masters"},
  };
  for (const Malformed& c : cases) {
    ClusterTopology t;
    std::string error;
    ReplyPtr r = Decode(c.bytes);
    ASSERT_TRUE(r) << c.what;
    EXPECT_FALSE(ParseClusterSlots(r.get(), &t, &error)) << c.what;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.what << ": " << error;
  }
}

TEST(ClusterTopology, AcceptsANullErrorPointer) {
  ClusterTopology t;
  ReplyPtr r = Decode("+OK\r\n");
  EXPECT_FALSE(ParseClusterShards(r.get(), &t, nullptr));
  EXPECT_FALSE(ParseClusterSlots(nullptr, &t, nullptr));
  ReplyPtr twice = Decode(A(2) + A(3) + I(0) + I(5) + A(2) + B("h") + I(1) + A(3) + I(5) + I(6) + A(2) + B("g") + I(2));
  EXPECT_FALSE(ParseClusterSlots(twice.get(), &t, nullptr));
}

// Every single-byte change of the real captures, fed to both parsers: whatever the reader makes of
// it, the parsers answer (true or false) without touching memory they should not (the sanitizer
// build checks that). A cheap, deterministic cousin of the fuzz target.
TEST(ClusterTopology, SurvivesEverySingleByteMutationOfTheCaptures) {
  int decoded = 0, parsed = 0;
  for (const char* name : {"shards-healthy.resp", "shards-promoted.resp", "slots-healthy.resp"}) {
    const std::string original = Fixture(name);
    for (size_t i = 0; i < original.size(); ++i) {
      for (char replacement : {'\0', '0', '9', '-', '*', ':', '$', '\xff'}) {
        if (original[i] == replacement) continue;
        std::string bytes = original;
        bytes[i] = replacement;
        ReplyPtr r = Decode(bytes);
        if (!r) continue;
        ++decoded;
        ClusterTopology t;
        std::string error;
        bool ok = ParseClusterShards(r.get(), &t, &error) | ParseClusterSlots(r.get(), &t, &error);
        if (ok) {
          ++parsed;
          for (int16_t s : t.slot_to_shard) ASSERT_LT(s, static_cast<int>(t.shards.size()));
        }
      }
    }
  }
  EXPECT_GT(decoded, 1000);
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace respcache
