// Which master serves each of Redis Cluster's 16384 slots, decoded from CLUSTER SHARDS (Redis 7.0+)
// or, on servers without it, CLUSTER SLOTS. Pure: no I/O, no loop. The reply comes from the
// network and is not trusted: every element is type- and bounds-checked, and anything malformed
// makes the parse fail with a message (never a crash, never a partial topology).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

struct redisReply;

namespace respcache {

struct ClusterShard {
  std::string id;    // the master's node id (CLUSTER SLOTS without ids: "host:port")
  std::string host;  // where to reach the master: its endpoint, else its ip
  int port = 0;
  // Replicas whose health is not "fail" ("online" or "loading"): the n of a durable WAIT. The
  // name predates counting "loading" ones (the binding reads it).
  int online_replicas = 0;
  // Their addresses ("host:port"), where they were well-formed: a refresh may ask them when every
  // master is unreachable.
  std::vector<std::string> replica_addrs;
};

struct ClusterTopology {
  // Only shards that serve at least one slot with a reachable master.
  std::vector<ClusterShard> shards;
  // Index into shards, or -1: no master (none listed, or its health is not "online").
  std::array<int16_t, 16384> slot_to_shard;
  // Every slot has a shard.
  bool complete = false;

  ClusterTopology() { slot_to_shard.fill(-1); }
  // "host:port" of a slot's master, or "" when unserved.
  std::string Describe(int slot) const;
};

// CLUSTER SHARDS: an array of shards, each a flat list of field/value pairs with "slots" (an even
// number of integers, start and end of each range) and "nodes" (each a field/value list with
// id, ip, endpoint, port, role, health...). Unknown fields are ignored, so later versions parse.
// A shard with no slots (a failed master after its replica took over) is skipped; one whose
// master is not "online" leaves its slots unserved. `tls`: the client talks TLS, so a node's
// "tls-port" is used where it has one (a TLS-only node lists no "port"), else its "port".
bool ParseClusterShards(const redisReply* reply, ClusterTopology* out, std::string* error,
                        bool tls = false);

// CLUSTER SLOTS: an array of [start, end, [host, port, id?, ...], replica...].
bool ParseClusterSlots(const redisReply* reply, ClusterTopology* out, std::string* error);

}  // namespace respcache
