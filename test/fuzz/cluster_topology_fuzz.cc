// libFuzzer target: CLUSTER SHARDS / CLUSTER SLOTS decoding on arbitrary bytes (what a cluster
// node, or anything that answers on its port, may send). The bytes go through hiredis's reader as
// the client's do; every complete reply is given to both parsers.
// Properties: no crash or undefined behaviour; a parse that fails leaves the output alone; an
// accepted topology only points slots at shards it holds, each with a host and a port in
// 1..65535, "complete" exactly when every slot has a shard, and no shard without a slot.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "redis/cluster_topology.h"
#include "redis/reply_limits.h"

namespace {

void Check(const redisReply* reply, bool slots) {
  respcache::ClusterTopology t;
  t.shards.push_back({"sentinel", "h", 1, 0, {}});
  std::string error;
  const bool ok = slots ? respcache::ParseClusterSlots(reply, &t, &error)
                        : respcache::ParseClusterShards(reply, &t, &error);
  if (!ok) {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(t.shards.size() == 1 && t.shards[0].id == "sentinel");
    return;
  }
  std::vector<int> used(t.shards.size(), 0);
  bool complete = true;
  for (int16_t s : t.slot_to_shard) {
    FUZZ_CHECK(s >= -1 && s < static_cast<int>(t.shards.size()));
    if (s < 0) complete = false; else ++used[s];
  }
  FUZZ_CHECK(complete == t.complete);
  for (size_t i = 0; i < t.shards.size(); ++i) {
    FUZZ_CHECK(used[i] > 0);
    FUZZ_CHECK(!t.shards[i].host.empty() && !t.shards[i].id.empty());
    FUZZ_CHECK(t.shards[i].port >= 1 && t.shards[i].port <= 65535);
    FUZZ_CHECK(t.shards[i].online_replicas >= 0);
    FUZZ_CHECK(t.shards[i].replica_addrs.size() <= static_cast<size_t>(t.shards[i].online_replicas));
    for (const std::string& a : t.shards[i].replica_addrs) FUZZ_CHECK(a.find(':') != std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The reader as every connection sets it up: arrays over kMaxReplyElements are refused before
  // anything is allocated (hiredis's own functions would calloc what the header declares).
  redisReader* reader = redisReaderCreate();
  respcache::ReplyLimitState limits;
  respcache::UseCappedReplies(reader, &limits);
  redisReaderFeed(reader, reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 4; ++i) {
    void* r = nullptr;
    if (redisReaderGetReply(reader, &r) != REDIS_OK || !r) break;
    Check(static_cast<redisReply*>(r), false);
    Check(static_cast<redisReply*>(r), true);
    freeReplyObject(r);
  }
  redisReaderFree(reader);
  return 0;
}
