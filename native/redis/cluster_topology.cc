#include "redis/cluster_topology.h"

#include <hiredis/hiredis.h>

#include <map>
#include <string_view>
#include <utility>

namespace respcache {
namespace {

constexpr int kSlots = 16384;
// A cluster this client can route to has at most one master per slot; anything above is garbage.
constexpr size_t kMaxShards = kSlots;
constexpr size_t kMaxNodesPerShard = 1024;

bool IsString(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->str;
}

std::string_view View(const redisReply* r) { return std::string_view(r->str, r->len); }

bool Fail(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

bool SlotNumber(const redisReply* r, long long* out) {
  if (!r || r->type != REDIS_REPLY_INTEGER || r->integer < 0 || r->integer >= kSlots) return false;
  *out = r->integer;
  return true;
}

bool PortNumber(const redisReply* r, int* out) {
  if (!r || r->type != REDIS_REPLY_INTEGER || r->integer <= 0 || r->integer > 65535) return false;
  *out = static_cast<int>(r->integer);
  return true;
}

// Host names are printed into log lines and connected to: keep them to what an address can be.
bool PlausibleHost(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-' || c == ':' || c == '_' || c == '%')) {
      return false;
    }
  }
  return true;
}

// Maps a field/value list (RESP2 rendering of a map) by field name; false if it is not one.
bool Fields(const redisReply* r, std::map<std::string_view, const redisReply*>* out) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) return false;
  for (size_t i = 0; i < r->elements; i += 2) {
    if (!IsString(r->element[i])) return false;
    (*out)[View(r->element[i])] = r->element[i + 1];
  }
  return true;
}

// The port a node of CLUSTER SHARDS is reached on: "tls-port" for a TLS client when the node has
// one (Redis lists "port" only for a plaintext port, "tls-port" only for a TLS one), else "port".
const redisReply* NodePort(std::map<std::string_view, const redisReply*>& node, bool tls) {
  if (tls && node.count("tls-port")) return node["tls-port"];
  return node.count("port") ? node["port"] : nullptr;
}

// Gives the slots start..end to `shard`. A slot listed twice is an error even for the same shard:
// real replies never overlap, and refusing it bounds the work at 16384 slots per reply (a reply of
// a million copies of [0, 16383] would otherwise cost 16 billion steps).
bool Claim(ClusterTopology* t, int shard, long long start, long long end, std::string* error) {
  if (start > end) return Fail(error, "slot range " + std::to_string(start) + "-" + std::to_string(end) + " is reversed");
  for (long long s = start; s <= end; ++s) {
    if (t->slot_to_shard[s] != -1) {
      return Fail(error, "slot " + std::to_string(s) + (t->slot_to_shard[s] == shard
                                                            ? " is listed twice"
                                                            : " is served by two masters"));
    }
    t->slot_to_shard[s] = static_cast<int16_t>(shard);
  }
  return true;
}

void Finish(ClusterTopology* t) {
  t->complete = true;
  for (int16_t s : t->slot_to_shard) {
    if (s < 0) {
      t->complete = false;
      break;
    }
  }
}

}  // namespace

std::string ClusterTopology::Describe(int slot) const {
  if (slot < 0 || slot >= kSlots || slot_to_shard[slot] < 0) return "";
  const ClusterShard& s = shards[slot_to_shard[slot]];
  return s.host + ":" + std::to_string(s.port);
}

bool ParseClusterShards(const redisReply* reply, ClusterTopology* out, std::string* error,
                        bool tls) {
  ClusterTopology t;
  if (!reply || reply->type != REDIS_REPLY_ARRAY) {
    return Fail(error, "CLUSTER SHARDS: expected an array of shards");
  }
  if (reply->elements > kMaxShards) return Fail(error, "CLUSTER SHARDS: too many shards");
  for (size_t i = 0; i < reply->elements; ++i) {
    const std::string where = "CLUSTER SHARDS: shard " + std::to_string(i) + ": ";
    std::map<std::string_view, const redisReply*> shard;
    if (!Fields(reply->element[i], &shard)) return Fail(error, where + "not a field/value list");
    const redisReply* slots = shard.count("slots") ? shard["slots"] : nullptr;
    const redisReply* nodes = shard.count("nodes") ? shard["nodes"] : nullptr;
    if (!slots || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2 != 0) {
      return Fail(error, where + "\"slots\" is not a list of ranges");
    }
    if (!nodes || nodes->type != REDIS_REPLY_ARRAY || nodes->elements > kMaxNodesPerShard) {
      return Fail(error, where + "\"nodes\" is not a list");
    }
    ClusterShard master;
    bool have_master = false, master_online = false;
    int online_replicas = 0;
    std::vector<std::string> replica_addrs;
    for (size_t n = 0; n < nodes->elements; ++n) {
      std::map<std::string_view, const redisReply*> node;
      if (!Fields(nodes->element[n], &node)) return Fail(error, where + "a node is not a field/value list");
      const redisReply* role = node.count("role") ? node["role"] : nullptr;
      const redisReply* health = node.count("health") ? node["health"] : nullptr;
      if (!IsString(role) || !IsString(health)) return Fail(error, where + "a node has no role or health");
      const bool online = View(health) == "online";
      // Redis 7.0 says "fail" (FAIL flag), "loading" (a replica whose replication offset is 0:
      // after --cluster create until the master's first write, or during a full sync) or
      // "online". A loading replica counts for WAIT: a connected one acknowledges (and WAIT is
      // then confirmed), one still syncing makes WAIT come up short, which is kUnconfirmed, a
      // visible error. Leaving it out would skip WAIT and report a write durable that is not.
      const bool counted_replica = View(health) != "fail";
      if (View(role) == "master") {
        if (have_master) return Fail(error, where + "two masters");
        const redisReply* id = node.count("id") ? node["id"] : nullptr;
        const redisReply* ip = node.count("ip") ? node["ip"] : nullptr;
        const redisReply* endpoint = node.count("endpoint") ? node["endpoint"] : nullptr;
        const redisReply* port = NodePort(node, tls);
        if (!IsString(id) || id->len == 0 || id->len > 64) return Fail(error, where + "the master has no id");
        if (!PortNumber(port, &master.port)) return Fail(error, where + "the master has no valid port");
        // "endpoint" is what cluster-preferred-endpoint-type says clients should use ("?" when
        // unknown); "ip" is always there.
        if (IsString(endpoint) && PlausibleHost(View(endpoint))) {
          master.host = std::string(View(endpoint));
        } else if (IsString(ip) && PlausibleHost(View(ip))) {
          master.host = std::string(View(ip));
        } else {
          return Fail(error, where + "the master has no usable address");
        }
        master.id = std::string(View(id));
        have_master = true;
        master_online = online;
      } else if (counted_replica) {
        ++online_replicas;
        // Optional: a replica without a usable address still counts for WAIT.
        const redisReply* ip = node.count("ip") ? node["ip"] : nullptr;
        const redisReply* endpoint = node.count("endpoint") ? node["endpoint"] : nullptr;
        const redisReply* port = NodePort(node, tls);
        int p = 0;
        const redisReply* host = IsString(endpoint) && PlausibleHost(View(endpoint)) ? endpoint
                                 : IsString(ip) && PlausibleHost(View(ip))       ? ip
                                                                                 : nullptr;
        if (host && PortNumber(port, &p)) replica_addrs.push_back(std::string(View(host)) + ":" + std::to_string(p));
      }
    }
    if (slots->elements == 0) continue;  // a master that lost its slots (failed over), or empty
    // Ranges are checked even when no master serves them: garbage is garbage.
    std::vector<std::pair<long long, long long>> ranges;
    for (size_t k = 0; k < slots->elements; k += 2) {
      long long a, b;
      if (!SlotNumber(slots->element[k], &a) || !SlotNumber(slots->element[k + 1], &b)) {
        return Fail(error, where + "a slot is not an integer in 0..16383");
      }
      ranges.emplace_back(a, b);
    }
    if (!have_master || !master_online) continue;  // its slots stay unserved
    master.online_replicas = online_replicas;
    master.replica_addrs = std::move(replica_addrs);
    const int index = static_cast<int>(t.shards.size());
    t.shards.push_back(std::move(master));
    for (auto [a, b] : ranges) {
      if (!Claim(&t, index, a, b, error)) {
        if (error) *error = where + *error;
        return false;
      }
    }
  }
  Finish(&t);
  *out = std::move(t);
  return true;
}

bool ParseClusterSlots(const redisReply* reply, ClusterTopology* out, std::string* error) {
  ClusterTopology t;
  if (!reply || reply->type != REDIS_REPLY_ARRAY) {
    return Fail(error, "CLUSTER SLOTS: expected an array of ranges");
  }
  if (reply->elements > kSlots) return Fail(error, "CLUSTER SLOTS: too many ranges");
  std::map<std::string, int> by_id;
  for (size_t i = 0; i < reply->elements; ++i) {
    const std::string where = "CLUSTER SLOTS: range " + std::to_string(i) + ": ";
    const redisReply* r = reply->element[i];
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return Fail(error, where + "not [start, end, master...]");
    long long a, b;
    if (!SlotNumber(r->element[0], &a) || !SlotNumber(r->element[1], &b)) {
      return Fail(error, where + "a slot is not an integer in 0..16383");
    }
    const redisReply* m = r->element[2];
    ClusterShard shard;
    if (!m || m->type != REDIS_REPLY_ARRAY || m->elements < 2 || !IsString(m->element[0]) ||
        !PortNumber(m->element[1], &shard.port)) {
      return Fail(error, where + "the master is not [host, port, ...]");
    }
    if (!PlausibleHost(View(m->element[0]))) return Fail(error, where + "the master has no usable address");
    shard.host = std::string(View(m->element[0]));
    if (m->elements >= 3 && IsString(m->element[2]) && m->element[2]->len > 0 && m->element[2]->len <= 64) {
      shard.id = std::string(View(m->element[2]));
    } else {
      shard.id = shard.host + ":" + std::to_string(shard.port);
    }
    // CLUSTER SLOTS lists the replicas it considers usable (failed ones are left out).
    shard.online_replicas = static_cast<int>(r->elements - 3);
    for (size_t k = 3; k < r->elements; ++k) {
      const redisReply* rep = r->element[k];
      int p = 0;
      if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 && IsString(rep->element[0]) &&
          PlausibleHost(View(rep->element[0])) && PortNumber(rep->element[1], &p)) {
        shard.replica_addrs.push_back(std::string(View(rep->element[0])) + ":" + std::to_string(p));
      }
    }
    auto found = by_id.find(shard.id);
    int index;
    if (found == by_id.end()) {
      index = static_cast<int>(t.shards.size());
      by_id.emplace(shard.id, index);
      t.shards.push_back(std::move(shard));
    } else {
      index = found->second;
    }
    if (!Claim(&t, index, a, b, error)) {
      if (error) *error = where + *error;
      return false;
    }
  }
  Finish(&t);
  *out = std::move(t);
  return true;
}

}  // namespace respcache
