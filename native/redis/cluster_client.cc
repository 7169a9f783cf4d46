#include "redis/cluster_client.h"

#include <hiredis/hiredis.h>
#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "core/cluster_slot.h"
#include "redis/loop_clock.h"

namespace respcache {

namespace {

constexpr uint64_t kTryAgainDelayMs = 20;
constexpr uint64_t kClusterDownDelayMs = 100;
constexpr uint64_t kMinRefreshGapMs = 100;
constexpr uint64_t kDegradedRefreshMs = 250;
constexpr uint64_t kUnknownReplicasDelayMs = 50;
// Redis checks blocked clients' timeouts when its event loop wakes, at least every 1000/hz ms
// (100 at the default hz 10): a timed-out WAIT is answered up to that late. WAIT's own timeout
// ends this much (at most half the time left) before the op's deadline...
constexpr uint32_t kWaitMarginMs = 100;
// ...and its link timeout is this much after the deadline (hz >= 1), so a late answer never
// times out on the link, which would refuse every command until that answer came. The op
// itself still settles at its deadline (durable_).
constexpr uint32_t kWaitLateMs = 1000;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool CommandIs(const char* arg, size_t len, const char* name) {
  return len == std::strlen(name) && strncasecmp(arg, name, len) == 0;
}

// "host:port" (the last ':' splits, so an IPv6 host stays whole).
bool SplitAddr(std::string_view addr, std::string* host, int* port) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= addr.size() || addr.size() - colon > 6) return false;
  int p = 0;
  for (char c : addr.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + (c - '0');
  }
  if (p <= 0 || p > 65535) return false;
  *host = std::string(addr.substr(0, colon));
  *port = p;
  return true;
}

// "MOVED <slot> <host>:<port>" / "ASK <slot> <host>:<port>"; an empty host means the node that
// answered (Redis 7 sends that when it does not know its own address).
bool ParseRedirect(std::string_view e, size_t skip, int* slot, std::string* host, int* port) {
  e.remove_prefix(skip);
  size_t space = e.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 5) return false;
  int s = 0;
  for (char c : e.substr(0, space)) {
    if (c < '0' || c > '9') return false;
    s = s * 10 + (c - '0');
  }
  if (s >= kClusterSlots) return false;
  *slot = s;
  return SplitAddr(e.substr(space + 1), host, port);
}

void IgnoreReply(void*, redisReply*, CommandError, const char*) {}

}  // namespace

struct ClusterClient::Link final : RedisConnection::Listener {
  ClusterClient* owner;
  std::string host;
  int port;
  std::string addr;
  RedisConnection* conn = nullptr;
  RedisConnection::State state = RedisConnection::State::kConnecting;
  bool probe = false;    // a temporary connection for one refresh
  bool master = false;   // the slot map points to it
  bool closing = false;  // Close()d or Abort()ed: finishes on its own, then OnLinkFinished

  void EnterLoopEvent() override { owner->Enter(); }
  void ExitLoopEvent() override { owner->Exit(); }
  void OnStateChange(RedisConnection::State s, const std::string& error, FailureKind kind) override {
    state = s;
    if (!closing) owner->LinkStateChanged(this, s, error, kind);
  }
  void OnClosed() override {}
};

struct ClusterClient::Op {
  ClusterClient* client;
  std::vector<std::string> argv;  // kept for resends
  Callback cb;
  void* data;
  uint64_t deadline_ms;
  uint32_t timeout_ms;
  int slot;                 // -1: keyless (any master)
  std::string node_host;    // CommandOnNode: the one node, no redirects
  int node_port = 0;
  std::string sent_host;    // the node the last send went to
  int redirections = 0;
  uint64_t resend_at = 0;
  bool flush_now = false;
  bool durable = false;
  bool sent_live = false;  // the last send went straight to a ready connection (not queued)

  Op(ClusterClient* c, int argc, const char* const* args, const size_t* lens, Callback callback,
     void* d, uint64_t deadline, uint32_t timeout, int s)
      : client(c), cb(callback), data(d), deadline_ms(deadline), timeout_ms(timeout), slot(s) {
    argv.reserve(argc);
    for (int i = 0; i < argc; ++i) argv.emplace_back(args[i], lens[i]);
  }
};

// One send of a durable command: the command and its WAIT, each answered once; the op goes on
// when both are in (the command's reply is copied: hiredis frees it when its callback returns).
struct ClusterClient::DurableSend {
  struct Part {
    DurableSend* send;
    bool done = false;
  };
  Op* op;  // null once settled (at its deadline) while a part is still out
  int replicas;  // the n of WAIT
  int outstanding = 2;
  Part command{this};
  Part wait{this};
  redisReply* reply = nullptr;  // the command's, copied
  CommandError error = CommandError::kNone;
  std::string message;
  long long acked = -1;  // WAIT's answer
  std::string wait_error;
  CommandError wait_code = CommandError::kNone;
  std::multimap<uint64_t, DurableSend*>::iterator timed;  // in durable_, when sent
  bool in_durable = false;
  bool finishing = false;  // FinishDurable runs: a nested OnDurablePart must not delete

  DurableSend(Op* o, int n) : op(o), replicas(n) {}
  ~DurableSend() {
    if (reply) freeReplyObject(reply);
  }
};

namespace {

// A deep copy that freeReplyObject can free (hiredis 0.14 allocates replies with malloc/calloc).
// The reader caps nesting at 7 levels, so the recursion is shallow.
redisReply* CopyReply(const redisReply* r) {
  auto* c = static_cast<redisReply*>(std::calloc(1, sizeof(redisReply)));
  if (!c) std::abort();
  c->type = r->type;
  c->integer = r->integer;
  if (r->str) {
    c->str = static_cast<char*>(std::malloc(r->len + 1));
    if (!c->str) std::abort();
    std::memcpy(c->str, r->str, r->len);
    c->str[r->len] = '\0';
    c->len = r->len;
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
    c->element = static_cast<redisReply**>(std::calloc(r->elements, sizeof(redisReply*)));
    if (!c->element) std::abort();
    c->elements = r->elements;
    for (size_t i = 0; i < r->elements; ++i) {
      c->element[i] = r->element[i] ? CopyReply(r->element[i]) : nullptr;
    }
  }
  return c;
}

}  // namespace

struct ClusterClient::RefreshAttempt {
  ClusterClient* client;
  Link* link;
  bool probe;
  bool slots = false;  // CLUSTER SLOTS (the server did not know CLUSTER SHARDS)
};

ClusterClient::ClusterClient(uv_loop_t* loop, Options options, Listener* listener)
    : loop_(loop), options_(std::move(options)), listener_(listener) {
  slots_.fill(nullptr);
  for (uv_timer_t* t : {&refresh_timer_, &retry_timer_}) {
    uv_timer_init(loop_, t);
    t->data = this;
  }
}

ClusterClient::~ClusterClient() = default;

void ClusterClient::Enter() {
  if (listener_) listener_->EnterLoopEvent();
}

void ClusterClient::Exit() {
  if (listener_) listener_->ExitLoopEvent();
}

int ClusterClient::RouteSlot(int argc, const char* const* argv, const size_t* lens) {
  if (argc < 2) return -1;
  const char* name = argv[0];
  size_t len = lens[0];
  for (const char* script : {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"}) {
    if (!CommandIs(name, len, script)) continue;
    // EVAL script numkeys key...: the first key decides (a script's keys share one slot).
    if (argc < 4 || lens[2] == 0 || lens[2] > 9) return -1;
    long numkeys = 0;
    for (size_t i = 0; i < lens[2]; ++i) {
      char c = argv[2][i];
      if (c < '0' || c > '9') return -1;
      numkeys = numkeys * 10 + (c - '0');
    }
    return numkeys > 0 ? KeySlot(std::string_view(argv[3], lens[3])) : -1;
  }
  for (const char* keyless : {"PING", "ECHO", "PUBLISH", "SCAN", "INFO", "CONFIG", "CLUSTER", "WAIT",
                              "SCRIPT", "DBSIZE", "TIME", "COMMAND", "CLIENT", "FUNCTION",
                              "RANDOMKEY", "KEYS", "FLUSHALL", "FLUSHDB", "MEMORY", "SLOWLOG"}) {
    if (CommandIs(name, len, keyless)) return -1;
  }
  return KeySlot(std::string_view(argv[1], lens[1]));
}

void ClusterClient::Connect() { ScheduleRefresh(0); }

ClusterClient::Op* ClusterClient::NewOp(int argc, const char* const* argv, const size_t* lens,
                                        uint32_t timeout_ms, Callback cb, void* data, int slot) {
  if (closing_) {
    cb(data, nullptr, CommandError::kClosed, "the Redis client is closed");
    return nullptr;
  }
  uint32_t timeout = timeout_ms ? timeout_ms : options_.command_timeout_ms;
  return new Op(this, argc, argv, lens, cb, data, FreshNowMs(loop_) + timeout, timeout, slot);
}

int ClusterClient::CallerSlot(int slot, int argc, const char* const* argv, const size_t* lens) {
  return slot >= 0 && slot < kClusterSlots ? slot : RouteSlot(argc, argv, lens);
}

void ClusterClient::Command(int argc, const char* const* argv, const size_t* lens,
                            uint32_t timeout_ms, Callback cb, void* data, int slot, bool flush_now) {
  Op* op = NewOp(argc, argv, lens, timeout_ms, cb, data, CallerSlot(slot, argc, argv, lens));
  if (!op) return;
  op->flush_now = flush_now;
  Dispatch(op);
}

void ClusterClient::CommandDurable(int argc, const char* const* argv, const size_t* lens,
                                   uint32_t timeout_ms, Callback cb, void* data, int slot) {
  Op* op = NewOp(argc, argv, lens, timeout_ms, cb, data, CallerSlot(slot, argc, argv, lens));
  if (!op) return;
  op->durable = true;
  Dispatch(op);
}

void ClusterClient::CommandOnNode(const std::string& addr, int argc, const char* const* argv,
                                  const size_t* lens, uint32_t timeout_ms, Callback cb, void* data) {
  Op* op = NewOp(argc, argv, lens, timeout_ms, cb, data, -1);
  if (!op) return;
  if (!SplitAddr(addr, &op->node_host, &op->node_port) || op->node_host.empty()) {
    Settle(op, nullptr, CommandError::kUnavailable, "not a host:port address");
    return;
  }
  Dispatch(op);
}

void ClusterClient::Settle(Op* op, redisReply* reply, CommandError error, const char* message) {
  Callback cb = op->cb;
  void* data = op->data;
  delete op;
  cb(data, reply, error, message);
}

void ClusterClient::Dispatch(Op* op) {
  if (closing_) {
    Settle(op, nullptr, aborted_ ? CommandError::kAborted : CommandError::kClosed,
           aborted_ ? "aborted" : "the Redis client was closed");
    return;
  }
  if (!op->node_host.empty()) {
    Send(op, LinkFor(op->node_host, op->node_port), false);
    return;
  }
  if (!have_topology_) {
    Wait(op, 0);  // sent when the first topology arrives, or times out
    return;
  }
  Link* link = op->slot >= 0 ? slots_[op->slot] : AnyReadyMaster();
  if (!link) {
    ScheduleRefresh(0);
    std::string why = op->slot >= 0 ? "no reachable master serves slot " + std::to_string(op->slot)
                                    : std::string("no reachable master");
    Settle(op, nullptr, CommandError::kUnavailable, why.c_str());
    return;
  }
  Send(op, link, false);
}

void ClusterClient::Send(Op* op, Link* link, bool asking) {
  uint64_t now = FreshNowMs(loop_);
  if (op->deadline_ms <= now) {
    std::string why = "Redis did not answer within " + std::to_string(op->timeout_ms) + " ms";
    Settle(op, nullptr, CommandError::kTimeout, why.c_str());
    return;
  }
  // What is left of the one deadline; at least 1 ms (0 would mean "the default" to the link).
  auto remaining = static_cast<uint32_t>(op->deadline_ms - now);
  op->sent_host = link->host;
  // A ready link writes at once; otherwise the command queues for the connection attempt.
  op->sent_live = link->state == RedisConnection::State::kReady;
  const size_t argc = op->argv.size();
  std::vector<const char*> ptrs(argc);
  std::vector<size_t> lens(argc);
  for (size_t i = 0; i < argc; ++i) {
    ptrs[i] = op->argv[i].data();
    lens[i] = op->argv[i].size();
  }
  if (asking) {
    // Both land in the link's output buffer (or its queue) in this call, so nothing can come
    // between them: Redis accepts the ASK target's command only right after ASKING.
    static const char* const kAsking[] = {"ASKING"};
    static const size_t kAskingLen[] = {6};
    link->conn->Command(1, kAsking, kAskingLen, remaining, IgnoreReply, nullptr);
  }
  auto found = replicas_.find(link->addr);
  if (op->durable && found == replicas_.end()) {
    // A master learnt from a MOVED: how many replicas must confirm is not known until a refresh
    // says so, and skipping WAIT would make the write non-durable without saying so.
    ScheduleRefresh(0);
    if (now + kUnknownReplicasDelayMs < op->deadline_ms) {
      Wait(op, now + kUnknownReplicasDelayMs);
    } else {
      Settle(op, nullptr, CommandError::kUnconfirmed,
             ("the replicas of " + link->addr + " are not known yet").c_str());
    }
    return;
  }
  const int replicas = found == replicas_.end() ? 0 : found->second;
  if (op->durable && replicas > 0) {
    auto* ds = new DurableSend(op, replicas);
    link->conn->Command(static_cast<int>(argc), ptrs.data(), lens.data(), remaining, OnDurablePart,
                        &ds->command, op->flush_now);
    if (ds->command.done) {
      // Refused at once (not sent): no WAIT behind it. OnDurablePart settled the op.
      if (--ds->outstanding == 0) delete ds;
      return;
    }
    // WAIT's own timeout ends inside the deadline with room for Redis's late answer; 0 would
    // mean "forever".
    const uint32_t wait_ms = std::max<uint32_t>(1, remaining - std::min(kWaitMarginMs, remaining / 2));
    const std::string n = std::to_string(replicas), ms = std::to_string(wait_ms);
    const char* wait[] = {"WAIT", n.c_str(), ms.c_str()};
    const size_t wait_lens[] = {4, n.size(), ms.size()};
    link->conn->Command(3, wait, wait_lens, remaining + kWaitLateMs, OnDurablePart, &ds->wait,
                        op->flush_now);
    if (ds->op) {
      ds->timed = durable_.emplace(op->deadline_ms, ds);
      ds->in_durable = true;
      if (op->deadline_ms < retry_wake_) ArmRetryTimer();
    }
    return;
  }
  // May settle synchronously (OnOpReply deletes op): op is not touched after this.
  link->conn->Command(static_cast<int>(argc), ptrs.data(), lens.data(), remaining, OnOpReply, op,
                      op->flush_now);
}

void ClusterClient::OnDurablePart(void* data, redisReply* reply, CommandError error,
                                  const char* message) {
  auto* part = static_cast<DurableSend::Part*>(data);
  DurableSend* ds = part->send;
  part->done = true;
  if (part == &ds->command) {
    ds->error = error;
    if (message) ds->message = message;
    if (reply) ds->reply = CopyReply(reply);
  } else if (error != CommandError::kNone) {
    ds->wait_code = error;
    ds->wait_error = message ? message : "no reply";
  } else if (reply->type == REDIS_REPLY_INTEGER) {
    ds->acked = reply->integer;
  } else {
    ds->wait_error = reply->str ? std::string(reply->str, reply->len) : "not an integer";
  }
  --ds->outstanding;
  if (Op* op = ds->op) {
    ClusterClient* self = op->client;
    // The command failed (nothing to confirm), or it answered at or past the deadline: settle
    // now, without waiting for WAIT.
    if (ds->outstanding == 0 ||
        (part == &ds->command && (error != CommandError::kNone || uv_now(self->loop_) >= op->deadline_ms))) {
      if (!ds->wait.done && ds->wait_error.empty()) {
        ds->wait_error = "no answer within " + std::to_string(op->timeout_ms) + " ms";
      }
      ds->finishing = true;  // the callback may Abort(), which answers the other part here
      self->FinishDurable(ds);
      ds->finishing = false;
    }
  }
  if (ds->outstanding == 0 && !ds->finishing) delete ds;
}

// Settles the op from what the send has so far and detaches it; the caller deletes ds once both
// parts are in.
void ClusterClient::FinishDurable(DurableSend* ds) {
  Op* op = ds->op;
  ds->op = nullptr;
  if (ds->in_durable) {
    durable_.erase(ds->timed);
    ds->in_durable = false;
  }
  if (ds->error != CommandError::kNone) {
    CommandError error = ds->error;
    std::string message = ds->message;
    OpFailed(op, error, message.c_str());
    return;
  }
  if (ds->wait_code == CommandError::kAborted) {
    // Abort() after the command's reply: it settles kAborted like every other op.
    OpFailed(op, CommandError::kAborted, ds->wait_error.c_str());
    return;
  }
  redisReply* reply = ds->reply;
  if (reply->type == REDIS_REPLY_ERROR) {
    HandleReply(op, reply);  // a redirect resends the command and a new WAIT
  } else if (ds->acked >= ds->replicas) {
    Settle(op, reply, CommandError::kNone, nullptr);
  } else {
    std::string why = ds->wait_error.empty()
                          ? "WAIT: " + std::to_string(std::max(0LL, ds->acked)) + " of " +
                                std::to_string(ds->replicas) + " replicas confirmed the write"
                          : "WAIT failed: " + ds->wait_error;
    Settle(op, nullptr, CommandError::kUnconfirmed, why.c_str());
  }
}

void ClusterClient::OnOpReply(void* data, redisReply* reply, CommandError error,
                              const char* message) {
  auto* op = static_cast<Op*>(data);
  ClusterClient* self = op->client;
  if (error == CommandError::kNone) {
    if (reply->type == REDIS_REPLY_ERROR) {
      self->HandleReply(op, reply);
      return;
    }
    self->Settle(op, reply, CommandError::kNone, nullptr);
    return;
  }
  self->OpFailed(op, error, message);
}

void ClusterClient::OpFailed(Op* op, CommandError error, const char* message) {
  if (error == CommandError::kClosed && !closing_) {
    if (!op->sent_live) {
      // Queued on a link a topology change retired before it connected: never sent, so route
      // it again.
      Dispatch(op);
      return;
    }
    // Written, then the retired link's connection dropped before the reply: it may have run.
    error = CommandError::kUnavailable;
    message = "the connection to Redis was lost";
  }
  if (error == CommandError::kUnavailable) ScheduleRefresh(0);
  Settle(op, nullptr, error, message);
}

void ClusterClient::HandleReply(Op* op, redisReply* reply) {
  std::string_view e(reply->str, reply->len);
  if (closing_) {
    // Nothing is resent after Close(), but CLUSTERDOWN still means what it means below: the
    // cluster cannot serve the slot, not an answer to the command.
    if (StartsWith(e, "CLUSTERDOWN")) {
      const std::string why(e);
      Settle(op, nullptr, CommandError::kUnavailable, why.c_str());
    } else {
      Settle(op, reply, CommandError::kNone, nullptr);
    }
    return;
  }
  const bool moved = StartsWith(e, "MOVED ");
  const bool ask = StartsWith(e, "ASK ");
  if (moved || ask) {
    int slot = 0, port = 0;
    std::string host;
    if (!op->node_host.empty() || !ParseRedirect(e, moved ? 6 : 4, &slot, &host, &port) ||
        ++op->redirections > options_.max_redirections) {
      Settle(op, reply, CommandError::kNone, nullptr);
      return;
    }
    if (host.empty()) host = op->sent_host;
    Link* target = LinkFor(host, port);
    if (moved) {
      target->master = true;
      if (slots_[slot] != target) {
        slots_[slot] = target;
        ++epoch_;
        if (listener_) listener_->OnTopologyChange(epoch_);
      }
      ScheduleRefresh(0);
    }
    Send(op, target, ask);
    return;
  }
  const uint64_t now = uv_now(loop_);
  if (StartsWith(e, "TRYAGAIN")) {
    // A multi-key command during a slot migration: its keys are split for now.
    if (now + kTryAgainDelayMs < op->deadline_ms) {
      Wait(op, now + kTryAgainDelayMs);
      return;
    }
  } else if (StartsWith(e, "CLUSTERDOWN")) {
    ScheduleRefresh(0);
    if (now + kClusterDownDelayMs < op->deadline_ms) {
      Wait(op, now + kClusterDownDelayMs);
      return;
    }
    // Still down at the deadline: the cluster cannot serve the slot now, as with a lost master
    // (the store bypasses Redis); not a reply to the command.
    const std::string why(e);
    Settle(op, nullptr, CommandError::kUnavailable, why.c_str());
    return;
  }
  Settle(op, reply, CommandError::kNone, nullptr);
}

void ClusterClient::Wait(Op* op, uint64_t resend_at) {
  op->resend_at = resend_at;
  waiting_.push_back(op);
  ArmRetryTimer();
}

void ClusterClient::ArmRetryTimer() {
  if (finished_ || aborted_) return;
  // Durable sends still settle at their deadlines while closing (they are in flight).
  if (waiting_.empty() && durable_.empty()) {
    uv_timer_stop(&retry_timer_);
    retry_wake_ = UINT64_MAX;
    return;
  }
  uint64_t wake = durable_.empty() ? UINT64_MAX : durable_.begin()->first;
  for (Op* op : waiting_) {
    wake = std::min(wake, op->deadline_ms);
    if (have_topology_ || !op->node_host.empty()) wake = std::min(wake, op->resend_at);
  }
  uint64_t now = uv_now(loop_);
  uv_timer_start(&retry_timer_, OnRetryTimer, wake > now ? wake - now : 0, 0);
  retry_wake_ = wake;
}

void ClusterClient::OnRetryTimer(uv_timer_t* timer) {
  auto* self = static_cast<ClusterClient*>(timer->data);
  self->Enter();
  uint64_t now = uv_now(self->loop_);
  self->retry_wake_ = UINT64_MAX;
  // Durable sends whose WAIT is still out at the deadline: the op settles now (kUnconfirmed, or
  // the command's error), the late WAIT answer is dropped when it comes. A command part not in
  // yet times out on its link at this same deadline.
  while (!self->durable_.empty() && self->durable_.begin()->first <= now) {
    DurableSend* ds = self->durable_.begin()->second;
    self->durable_.erase(self->durable_.begin());
    ds->in_durable = false;
    if (ds->command.done && ds->op) {
      ds->wait_error = "no answer within " + std::to_string(ds->op->timeout_ms) + " ms";
      ds->finishing = true;  // an Abort() in the callback answers WAIT here: ds (and the
      self->FinishDurable(ds);  // reply the callback got) must live until it returns
      ds->finishing = false;
      if (ds->outstanding == 0) delete ds;
    }
  }
  std::vector<Op*> due;
  auto& w = self->waiting_;
  for (auto it = w.begin(); it != w.end();) {
    Op* op = *it;
    bool ready = (self->have_topology_ || !op->node_host.empty()) && op->resend_at <= now;
    if (op->deadline_ms <= now || ready) {
      due.push_back(op);
      it = w.erase(it);
    } else {
      ++it;
    }
  }
  for (Op* op : due) {
    if (op->deadline_ms <= now) {
      std::string why = self->have_topology_
                            ? "Redis did not answer within " + std::to_string(op->timeout_ms) + " ms"
                            : "timed out waiting for the cluster's topology";
      self->Settle(op, nullptr, CommandError::kTimeout, why.c_str());
    } else {
      self->Dispatch(op);
    }
  }
  self->ArmRetryTimer();
  self->Exit();
}

ClusterClient::Link* ClusterClient::LinkFor(const std::string& host, int port) {
  std::string addr = host + ":" + std::to_string(port);
  auto found = links_.find(addr);
  if (found != links_.end()) return found->second;
  Link* link = NewLink(host, port, false);
  links_.emplace(addr, link);
  return link;
}

ClusterClient::Link* ClusterClient::NewLink(const std::string& host, int port, bool probe) {
  auto* link = new Link();
  link->owner = this;
  link->host = host;
  link->port = port;
  link->addr = host + ":" + std::to_string(port);
  link->probe = probe;
  RedisConnection::Options o;
  // Credentials and the TLS context of the first seed: every node is the same deployment's.
  if (!options_.seeds.empty()) o.endpoint = options_.seeds.front();
  o.endpoint.host = host;
  o.endpoint.port = port;
  o.endpoint.path.clear();
  o.endpoint.db = 0;
  o.connect_timeout_ms = options_.connect_timeout_ms;
  o.command_timeout_ms = options_.command_timeout_ms;
  // A probe carries one CLUSTER SHARDS: loading scripts there would only slow the refresh.
  if (!probe) o.preload = options_.preload;
  link->conn = new RedisConnection(loop_, std::move(o), link);
  link->conn->SetFinishedCallback(OnLinkFinished, link);
  link->conn->Connect();
  return link;
}

ClusterClient::Link* ClusterClient::AnyReadyMaster() {
  Link* fallback = nullptr;
  for (auto& [addr, link] : links_) {
    if (!link->master) continue;
    if (link->state == RedisConnection::State::kReady) return link;
    if (!fallback && link->state == RedisConnection::State::kConnecting) fallback = link;
  }
  return fallback;
}

void ClusterClient::Retire(Link* link) {
  if (link->closing) return;
  links_.erase(link->addr);
  for (Link*& s : slots_) {
    if (s == link) s = nullptr;
  }
  retired_.insert(link);
  link->closing = true;
  // In-flight commands finish within their timeouts; queued ones come back with kClosed and are
  // routed again (OnOpReply).
  link->conn->Close();
}

void ClusterClient::OnLinkFinished(void* arg) {
  auto* link = static_cast<Link*>(arg);
  ClusterClient* self = link->owner;
  self->retired_.erase(link);
  delete link;
  self->MaybeFinish();
}

void ClusterClient::Refresh() { ScheduleRefresh(0); }

void ClusterClient::ScheduleRefresh(uint64_t delay_ms) {
  if (closing_) return;
  if (refresh_in_flight_) {
    refresh_again_ = true;
    return;
  }
  uint64_t now = uv_now(loop_);
  uint64_t at = now + delay_ms;
  if (refreshed_once_) at = std::max(at, last_refresh_start_ms_ + kMinRefreshGapMs);
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&refresh_timer_)) && refresh_due_ms_ <= at) return;
  refresh_due_ms_ = at;
  uv_timer_start(&refresh_timer_, OnRefreshTimer, at > now ? at - now : 0, 0);
}

void ClusterClient::OnRefreshTimer(uv_timer_t* timer) {
  auto* self = static_cast<ClusterClient*>(timer->data);
  self->Enter();
  self->StartRefresh();
  self->Exit();
}

void ClusterClient::StartRefresh() {
  if (closing_ || refresh_in_flight_) return;
  refresh_in_flight_ = true;
  refresh_again_ = false;
  refreshed_once_ = true;
  ++refresh_generation_;
  last_refresh_start_ms_ = uv_now(loop_);
  refresh_candidates_.clear();
  refresh_next_ = 0;
  refresh_error_.clear();
  refresh_error_kind_ = FailureKind::kUnavailable;
  auto add = [this](const std::string& host, int port) {
    for (auto& c : refresh_candidates_) {
      if (c.first == host && c.second == port) return;
    }
    refresh_candidates_.emplace_back(host, port);
  };
  // Ready masters first (their pipelines are open), then every other known node, then the seeds.
  for (auto& [addr, link] : links_) {
    if (link->master && link->state == RedisConnection::State::kReady) add(link->host, link->port);
  }
  for (auto& [addr, link] : links_) add(link->host, link->port);
  for (auto& [host, port] : replica_nodes_) add(host, port);
  for (const RedisEndpoint& seed : options_.seeds) {
    if (seed.path.empty()) add(seed.host, seed.port);
  }
  TryRefreshCandidate();
}

void ClusterClient::TryRefreshCandidate() {
  if (closing_) return;
  if (refresh_next_ >= refresh_candidates_.size()) {
    RefreshDone(false);
    return;
  }
  auto [host, port] = refresh_candidates_[refresh_next_++];
  auto found = links_.find(host + ":" + std::to_string(port));
  auto* attempt = new RefreshAttempt{this, nullptr, false};
  uint32_t timeout = options_.connect_timeout_ms;
  if (found != links_.end() && found->second->state == RedisConnection::State::kReady) {
    attempt->link = found->second;
  } else {
    // A temporary connection, so a down node's reconnect backoff never delays the refresh.
    Link* link = NewLink(host, port, true);
    retired_.insert(link);
    attempt->link = link;
    attempt->probe = true;
    timeout += options_.command_timeout_ms;
  }
  static const char* const kShards[] = {"CLUSTER", "SHARDS"};
  static const size_t kShardsLen[] = {7, 6};
  attempt->link->conn->Command(2, kShards, kShardsLen, timeout, OnRefreshReply, attempt);
}

void ClusterClient::OnRefreshReply(void* data, redisReply* reply, CommandError error,
                                   const char* message) {
  auto* attempt = static_cast<RefreshAttempt*>(data);
  ClusterClient* self = attempt->client;
  Link* link = attempt->link;
  if (self->closing_) {
    self->refresh_in_flight_ = false;
    delete attempt;
    return;
  }
  std::string why;
  FailureKind kind = FailureKind::kUnavailable;
  ClusterTopology topology;
  bool ok = false;
  if (error != CommandError::kNone) {
    why = message ? message : "no reply";
    // A probe's command only hears "could not connect": the attempt knows why (a TLS failure
    // names its cause and has its own kind, which the 'error' event reports).
    if (attempt->probe && error == CommandError::kUnavailable &&
        !link->conn->last_attempt_error().empty()) {
      why = link->conn->last_attempt_error();
      kind = link->conn->last_attempt_kind();
    }
  } else if (reply->type == REDIS_REPLY_ERROR) {
    std::string_view e(reply->str, reply->len);
    if (!attempt->slots && (e.find("nknown subcommand") != std::string_view::npos)) {
      // Before Redis 7.0: ask the same node with CLUSTER SLOTS.
      attempt->slots = true;
      static const char* const kSlots[] = {"CLUSTER", "SLOTS"};
      static const size_t kSlotsLen[] = {7, 5};
      link->conn->Command(2, kSlots, kSlotsLen, self->options_.connect_timeout_ms, OnRefreshReply,
                          attempt);
      return;
    }
    why = std::string(e);
  } else {
    const bool tls = !self->options_.seeds.empty() && self->options_.seeds.front().tls;
    ok = attempt->slots ? ParseClusterSlots(reply, &topology, &why)
                        : ParseClusterShards(reply, &topology, &why, tls);
    if (ok && topology.shards.empty()) {
      ok = false;
      why = "the cluster has no master serving slots";
    }
  }
  if (attempt->probe && !link->closing) {
    link->closing = true;
    link->conn->Close();
  }
  delete attempt;
  if (ok) {
    self->ApplyTopology(std::move(topology));
    self->RefreshDone(true);
  } else {
    // A TLS message already names the node.
    self->refresh_error_ = kind == FailureKind::kUnavailable ? link->addr + ": " + why : why;
    self->refresh_error_kind_ = kind;
    self->TryRefreshCandidate();
  }
}

void ClusterClient::RefreshDone(bool ok) {
  refresh_in_flight_ = false;
  if (listener_) listener_->OnRefreshed(refresh_generation_, ok, ok ? std::string() : refresh_error_);
  if (!ok && listener_) {
    std::string why = "could not read the cluster's topology from any node (last: " + refresh_error_ + ")";
    if (!have_topology_) {
      listener_->OnStateChange(state_, why, refresh_error_kind_);
    } else {
      UpdateState(why, refresh_error_kind_);
    }
  }
  uint64_t next = refresh_again_ ? 0 : Degraded() ? kDegradedRefreshMs : options_.refresh_interval_ms;
  refresh_again_ = false;
  ScheduleRefresh(next);
}

bool ClusterClient::Degraded() const {
  return !have_topology_ || state_ != RedisConnection::State::kReady;
}

void ClusterClient::ApplyTopology(ClusterTopology topology) {
  std::vector<Link*> shard_links;
  shard_links.reserve(topology.shards.size());
  replicas_.clear();
  replica_nodes_.clear();
  for (auto& [addr, link] : links_) link->master = false;
  for (const ClusterShard& shard : topology.shards) {
    Link* link = LinkFor(shard.host, shard.port);
    link->master = true;
    replicas_[link->addr] = shard.online_replicas;
    shard_links.push_back(link);
    for (const std::string& addr : shard.replica_addrs) {
      std::string host;
      int port = 0;
      if (SplitAddr(addr, &host, &port) && !host.empty()) replica_nodes_.emplace_back(host, port);
    }
  }
  bool changed = !have_topology_;
  for (int s = 0; s < kClusterSlots; ++s) {
    int16_t i = topology.slot_to_shard[s];
    Link* next = i >= 0 ? shard_links[i] : nullptr;
    if (slots_[s] != next) {
      slots_[s] = next;
      changed = true;
    }
  }
  have_topology_ = true;
  if (changed) {
    ++epoch_;
    if (listener_) listener_->OnTopologyChange(epoch_);
  }
  // Nodes that are no longer masters (or were only ASK targets): their commands in flight finish.
  std::vector<Link*> stale;
  for (auto& [addr, link] : links_) {
    if (!link->master) stale.push_back(link);
  }
  for (Link* link : stale) Retire(link);
  UpdateState();
  // Commands that waited for the first topology go out now.
  ArmRetryTimer();
}

void ClusterClient::LinkStateChanged(Link* link, RedisConnection::State state, const std::string& error,
                                     FailureKind kind) {
  if (link->probe || closing_) return;
  if (state == RedisConnection::State::kReconnecting && link->master) ScheduleRefresh(0);
  // A TLS message already names the node.
  UpdateState(error.empty() || kind != FailureKind::kUnavailable ? error : link->addr + ": " + error,
              kind);
}

void ClusterClient::UpdateState(const std::string& why, FailureKind kind) {
  if (closing_ || !have_topology_) return;
  bool all_ready = true;
  int unserved = 0;
  Link* down = nullptr;
  for (Link* l : slots_) {
    if (!l) {
      ++unserved;
    } else if (l->state == RedisConnection::State::kReconnecting) {
      down = l;
    } else if (l->state != RedisConnection::State::kReady) {
      all_ready = false;
    }
  }
  RedisConnection::State next = state_;
  std::string error = why;
  if (unserved > 0 || down) {
    next = RedisConnection::State::kReconnecting;
    if (error.empty()) {
      kind = FailureKind::kUnavailable;
      error = unserved > 0 ? std::to_string(unserved) + " slots have no reachable master"
                           : "lost the connection to the master at " + down->addr;
    }
  } else if (all_ready) {
    next = RedisConnection::State::kReady;
    error.clear();
  }
  if (next == state_) return;
  state_ = next;
  if (listener_) listener_->OnStateChange(state_, error, kind);
}

std::vector<ClusterClient::Master> ClusterClient::Masters() const {
  std::vector<Master> out;
  std::map<const Link*, size_t> index;
  for (int s = 0; s < kClusterSlots; ++s) {
    const Link* l = slots_[s];
    if (!l) continue;
    auto found = index.find(l);
    if (found == index.end()) {
      found = index.emplace(l, out.size()).first;
      Master m;
      m.addr = l->addr;
      auto r = replicas_.find(l->addr);
      m.online_replicas = r == replicas_.end() ? 0 : r->second;
      m.ready = l->state == RedisConnection::State::kReady;
      out.push_back(std::move(m));
    }
    auto& ranges = out[found->second].slots;
    if (!ranges.empty() && ranges.back().second == s - 1) {
      ranges.back().second = s;
    } else {
      ranges.emplace_back(s, s);
    }
  }
  return out;
}

void ClusterClient::Close() {
  if (closing_) return;
  closing_ = true;
  state_ = RedisConnection::State::kClosed;
  uv_timer_stop(&refresh_timer_);
  uv_timer_stop(&retry_timer_);
  std::vector<Op*> waiting;
  waiting.swap(waiting_);
  for (Op* op : waiting) Settle(op, nullptr, CommandError::kClosed, "the Redis client was closed");
  retry_wake_ = UINT64_MAX;
  ArmRetryTimer();  // for durable sends in flight, if any
  std::vector<Link*> links;
  for (auto& [addr, link] : links_) links.push_back(link);
  for (Link* link : links) Retire(link);
  // Probes only carry a refresh, whose answer no one needs now: drop them at once rather than
  // wait for CLUSTER SHARDS within its timeout.
  for (Link* link : std::vector<Link*>(retired_.begin(), retired_.end())) {
    if (!link->closing) {
      link->closing = true;
      link->conn->Abort();
    }
  }
  MaybeFinish();
}

void ClusterClient::Abort() {
  if (aborted_) return;
  aborted_ = true;
  closing_ = true;
  listener_ = nullptr;
  state_ = RedisConnection::State::kClosed;
  uv_timer_stop(&refresh_timer_);
  uv_timer_stop(&retry_timer_);
  std::vector<Op*> waiting;
  waiting.swap(waiting_);
  retry_wake_ = UINT64_MAX;
  for (Op* op : waiting) Settle(op, nullptr, CommandError::kAborted, "aborted");
  for (auto& [addr, link] : links_) retired_.insert(link);
  links_.clear();
  slots_.fill(nullptr);
  // Abort() settles every command of the link at once (kAborted); each link then finishes on its
  // own (OnLinkFinished), after its handles close.
  for (Link* link : std::vector<Link*>(retired_.begin(), retired_.end())) {
    link->closing = true;
    link->conn->Abort();
  }
  MaybeFinish();
}

void ClusterClient::MaybeFinish() {
  if (!closing_ || finished_ || !links_.empty() || !retired_.empty()) return;
  finished_ = true;
  for (uv_timer_t* t : {&refresh_timer_, &retry_timer_}) {
    uv_timer_stop(t);
    uv_close(reinterpret_cast<uv_handle_t*>(t), OnTimerClosed);
  }
}

void ClusterClient::OnTimerClosed(uv_handle_t* handle) {
  auto* self = static_cast<ClusterClient*>(handle->data);
  if (--self->open_timers_ > 0) return;
  if (self->listener_) {
    Listener* l = self->listener_;
    l->EnterLoopEvent();
    l->OnClosed();
    l->ExitLoopEvent();
  }
  void (*fn)(void*) = self->finished_fn_;
  void* arg = self->finished_arg_;
  delete self;
  if (fn) fn(arg);
}

}  // namespace respcache
