// A Redis Cluster client on a libuv loop: one pipelined RedisConnection per master, commands
// routed by key slot, redirections followed. Knows nothing of Node: the binding listens to it
// through Listener, like RedisConnection.
//
// Contract:
// - Every Command() callback fires exactly once, with the same signature and meaning as
//   RedisConnection's: a reply (valid only during the call; it may be a Redis error reply) or an
//   error. Synchronously from Command() only for immediate failures (closed, slot unserved).
// - One deadline per command, set when Command() is called: every (re)send gets what is left of
//   it as its timeout, so redirects, TRYAGAIN and CLUSTERDOWN retries never stretch a command
//   beyond the timeout it was given (a lookup stays a fast BYPASS).
// - Routing: `slot` when given (0..16383), else the slot of argv[1] (argv[3] for EVAL/EVALSHA
//   with at least one key); keyless commands (PING, PUBLISH, SCAN, INFO...) go to any ready master.
//   CommandOnNode() sends to one node and follows nothing (SCAN, CONFIG, CLUSTER NODES per node).
// - MOVED: the slot's master is updated at once (a link opens if new: commands queue on its
//   connection attempt within their deadline), the command is resent, and a topology refresh is
//   scheduled. ASK: ASKING and the command are written back to back on the target's connection
//   (adjacent in its pipeline), the map is left alone. TRYAGAIN: resent after 20 ms.
//   CLUSTERDOWN: refresh, resent after 100 ms. Each of these while the deadline allows; else the
//   command settles with the last reply (an error reply), except CLUSTERDOWN, which settles
//   kUnavailable with Redis's text (the cluster cannot serve the slot: bypass, as for a lost
//   master). More than max_redirections MOVED/ASK settle with the last redirect reply.
// - A command whose connection drops while it is in flight fails with kUnavailable and is never
//   resent (it may have run). A slot whose master is unreachable fails fast (kUnavailable) until
//   a refresh maps it elsewhere: refreshes run every 250 ms while any slot is unserved, every
//   refresh_interval_ms otherwise, and at most every 100 ms after a redirect.
// - Refresh: CLUSTER SHARDS (CLUSTER SLOTS if the server does not know it) on a ready master, else
//   on a temporary connection to each known node, then each seed.
// - After Close() (or Abort()) the object owns itself and deletes itself once every connection and
//   timer is closed; Listener::OnClosed is the last call it makes. Close() fails commands waiting
//   for a retry with kClosed and lets commands in flight finish within their timeouts.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "redis/cluster_topology.h"
#include "redis/redis_connection.h"
#include "redis/redis_endpoint.h"

namespace respcache {

class ClusterClient {
 public:
  struct Options {
    // Where to ask for the topology first, in order. The first seed's username, password and TLS
    // context are used for every connection the client opens (seeds, probes, masters, MOVED/ASK
    // targets, CommandOnNode nodes; db must be 0 in a cluster). With TLS, a node is reached on
    // the "tls-port" CLUSTER SHARDS gives, and its certificate is verified against the address
    // the cluster announces (an IP: see TlsSession) unless the context sets a servername.
    std::vector<RedisEndpoint> seeds;
    uint32_t connect_timeout_ms = 1000;
    uint32_t command_timeout_ms = 100;
    uint32_t refresh_interval_ms = 5000;
    int max_redirections = 16;
    // Script texts every node connection (not the refresh probes) SCRIPT LOADs in its handshake
    // (RedisConnection::Options::preload): a master promoted by a failover, or one a MOVED names,
    // has them before its first command, so EVALSHA needs no NOSCRIPT round trip.
    std::vector<std::string> preload;
  };

  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void EnterLoopEvent() = 0;
    virtual void ExitLoopEvent() = 0;
    // kConnecting until the first topology is served, kReady while every slot's master connection
    // is ready, kReconnecting (with what is wrong) otherwise, kClosed after Close(). `kind` says
    // what sort of failure `error` is (kUnavailable unless a connection failed in TLS).
    virtual void OnStateChange(RedisConnection::State state, const std::string& error,
                               FailureKind kind) = 0;
    // The slot map changed (a refresh or a MOVED); `epoch` counts the changes.
    virtual void OnTopologyChange(uint64_t epoch) { (void)epoch; }
    // Refresh number `generation` (refreshes_started() when it began) finished: ok with the
    // topology applied, or every candidate failed (`error`). The binding's refresh() promise
    // settles here once a refresh that started after its call has finished.
    virtual void OnRefreshed(uint64_t generation, bool ok, const std::string& error) {
      (void)generation;
      (void)ok;
      (void)error;
    }
    virtual void OnClosed() = 0;
  };

  using Callback = RedisConnection::Callback;
  static constexpr int kAutoSlot = -1;

  // What Masters() reports: one entry per master link the slot map points to.
  struct Master {
    std::string addr;  // host:port
    std::vector<std::pair<int, int>> slots;  // ranges, ascending
    int online_replicas = 0;  // from the last refresh (0 for a master learnt from MOVED only)
    bool ready = false;
  };

  ClusterClient(uv_loop_t* loop, Options options, Listener* listener);
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Asks the seeds for the topology on the next loop turn.
  void Connect();
  // Sends argv (copied before returning) to the master of `slot` (kAutoSlot: see above).
  // timeout_ms == 0 means the default command timeout.
  void Command(int argc, const char* const* argv, const size_t* lens, uint32_t timeout_ms,
               Callback cb, void* data, int slot = kAutoSlot, bool flush_now = false);
  // Command() for writes that must survive a failover: `WAIT n <ms left>` is pipelined right
  // behind the command on the same connection, n = the replicas the last refresh counted (every
  // one not "fail", loading ones included) for that master (0: no WAIT, as Command()). The callback gets the command's reply once WAIT
  // answered >= n, else kUnconfirmed (the write happened on the master, but may be lost with it).
  // WAIT's own timeout is the time left less min(100 ms, half of it): Redis answers a timed-out
  // WAIT up to 1000/hz ms late. WAIT's link timeout is 1 s past the deadline, so that late
  // answer never stalls the connection; the op itself settles at its deadline (kUnconfirmed
  // when the command was answered and WAIT was not). A redirect resends the pair together. A master not seen in a refresh yet (learnt from a
  // MOVED) waits for the next refresh, within the deadline (else kUnconfirmed).
  void CommandDurable(int argc, const char* const* argv, const size_t* lens, uint32_t timeout_ms,
                      Callback cb, void* data, int slot = kAutoSlot);
  // Sends argv to the node at "host:port" (a link opens if there is none); no redirect followed.
  void CommandOnNode(const std::string& addr, int argc, const char* const* argv, const size_t* lens,
                     uint32_t timeout_ms, Callback cb, void* data);
  // Asks for a refresh now (coalesced with one in flight; at most every 100 ms). One that starts
  // after this call follows: its generation is above refreshes_started() as read now.
  void Refresh();
  void Close();
  // Environment teardown: callbacks fire with kAborted now, none after this call.
  void Abort();
  void DetachListener() { listener_ = nullptr; }
  // Called once every connection and timer is closed, just before the object deletes itself.
  void SetFinishedCallback(void (*fn)(void*), void* arg) {
    finished_fn_ = fn;
    finished_arg_ = arg;
  }

  RedisConnection::State state() const { return state_; }
  uint64_t topology_epoch() const { return epoch_; }
  // How many refreshes have started (each one's generation is this count once it started).
  uint64_t refreshes_started() const { return refresh_generation_; }
  std::vector<Master> Masters() const;
  // The slot a command is routed to without an explicit slot (-1: keyless).
  static int RouteSlot(int argc, const char* const* argv, const size_t* lens);

 private:
  struct Link;
  struct Op;
  struct RefreshAttempt;
  struct DurableSend;
  ~ClusterClient();

  static void OnOpReply(void* data, redisReply* reply, CommandError error, const char* message);
  static void OnDurablePart(void* data, redisReply* reply, CommandError error, const char* message);
  void FinishDurable(DurableSend* ds);
  void OpFailed(Op* op, CommandError error, const char* message);
  static void OnRefreshReply(void* data, redisReply* reply, CommandError error, const char* message);
  static void OnRefreshTimer(uv_timer_t* timer);
  static void OnRetryTimer(uv_timer_t* timer);
  static void OnTimerClosed(uv_handle_t* handle);
  static void OnLinkFinished(void* arg);

  void Enter();
  void Exit();
  Link* LinkFor(const std::string& host, int port);
  Link* AnyReadyMaster();
  void Retire(Link* link);
  // A caller's command as an op, its deadline `timeout_ms` (0: the default) from now; null once
  // Close()d, the callback then told (kClosed).
  Op* NewOp(int argc, const char* const* argv, const size_t* lens, uint32_t timeout_ms, Callback cb,
            void* data, int slot);
  // Where Command() and CommandDurable() send: the caller's slot if it names one, else RouteSlot.
  static int CallerSlot(int slot, int argc, const char* const* argv, const size_t* lens);
  void Dispatch(Op* op);
  void Send(Op* op, Link* link, bool asking);
  void Settle(Op* op, redisReply* reply, CommandError error, const char* message);
  void Wait(Op* op, uint64_t resend_at);
  void ArmRetryTimer();
  void HandleReply(Op* op, redisReply* reply);
  void ScheduleRefresh(uint64_t delay_ms);
  void StartRefresh();
  void TryRefreshCandidate();
  void RefreshDone(bool ok);
  void ApplyTopology(ClusterTopology topology);
  void UpdateState(const std::string& why = "", FailureKind kind = FailureKind::kUnavailable);
  void LinkStateChanged(Link* link, RedisConnection::State state, const std::string& error,
                        FailureKind kind);
  Link* NewLink(const std::string& host, int port, bool probe);
  bool Degraded() const;
  void MaybeFinish();

  uv_loop_t* loop_;
  Options options_;
  Listener* listener_;
  RedisConnection::State state_ = RedisConnection::State::kConnecting;
  bool closing_ = false;
  bool aborted_ = false;
  bool finished_ = false;
  int open_timers_ = 2;
  void (*finished_fn_)(void*) = nullptr;
  void* finished_arg_ = nullptr;
  uint64_t epoch_ = 0;
  bool have_topology_ = false;

  // Links the routing may use, by "host:port"; retired ones close and delete themselves.
  std::map<std::string, Link*> links_;
  std::set<Link*> retired_;
  std::array<Link*, 16384> slots_;
  // online replicas per master addr, from the last refresh
  std::map<std::string, int> replicas_;
  // Online replicas' addresses from the last refresh: refresh candidates after the masters.
  std::vector<std::pair<std::string, int>> replica_nodes_;

  // Ops waiting for a resend time or for the first topology (not in any connection).
  std::vector<Op*> waiting_;
  // Durable sends in flight, by their op's deadline (the retry timer settles them there).
  std::multimap<uint64_t, DurableSend*> durable_;
  uint64_t retry_wake_ = UINT64_MAX;  // when the armed retry timer fires

  bool refresh_in_flight_ = false;
  bool refresh_again_ = false;
  uint64_t last_refresh_start_ms_ = 0;
  uint64_t refresh_due_ms_ = 0;  // when the armed refresh timer fires
  bool refreshed_once_ = false;
  std::vector<std::pair<std::string, int>> refresh_candidates_;
  size_t refresh_next_ = 0;
  std::string refresh_error_;
  FailureKind refresh_error_kind_ = FailureKind::kUnavailable;
  uint64_t refresh_generation_ = 0;

  uv_timer_t refresh_timer_;
  uv_timer_t retry_timer_;
};

}  // namespace respcache
