// One Redis connection driven by hiredis's async API on a libuv loop (Node's own). Owns the
// redisAsyncContext*, the connect/command timers and the reconnect policy. Knows nothing of Node:
// the binding (addon.cc) listens to it through Listener.
//
// Contract:
// - Every Command() callback fires exactly once: with a reply (valid only during the call) or with
//   an error. It fires synchronously from Command() only for immediate failures; otherwise from a
//   loop event bracketed by Listener::EnterLoopEvent/ExitLoopEvent.
// - Commands are pipelined on the one socket in issue order. A command issued while a connection
//   attempt is under way waits (queued here) for it within its own timeout; with no attempt under
//   way it fails at once. While Redis has left a timed-out command unanswered, new commands fail
//   at once with kTimeout (a stalled Redis is bypassed, not queued behind); if it stays silent for
//   the stall limit the connection is dropped and re-established.
// - Lost connections are retried with exponential backoff and jitter, capped at 2 s.
// - After Close() (or Abort()) the object owns itself and deletes itself once its handles are
//   closed; Listener::OnClosed is the last call it makes.
//
// Retarget() moves the connection to another server (a Sentinel's new master): see there.
// Options::expect_master makes every handshake check ROLE; Options::preload loads scripts in it.
//
// Subscriber connections (Options::subscriber): a dedicated pub/sub connection. It keeps the set
// of channels and patterns it was asked to follow, and every connection (the first and each
// reconnection) subscribes them all, confirmed by Redis, as part of its handshake: kReady means
// they are in place. Messages reach Listener::OnMessage; those published while disconnected are
// lost (Redis does not keep them). Only PubSub() and Command() with PING may be used on it.
// hiredis 0.14's own pub/sub dispatch is not used: it routes a PING reply to whichever callback
// ran before it in the same read (or drops it), and never calls the PING's own callback until the
// context is freed. Here hiredis formats, writes and parses; ProcessReplies() pairs each reply
// that is not a message with the oldest command awaiting one (Redis answers in order), under the
// same timeouts and stall detection as commands on a normal connection.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "redis/failure_kind.h"
#include "redis/pubsub_message.h"
#include "redis/redis_endpoint.h"
#include "redis/reply_limits.h"
#include "redis/uv_hiredis_adapter.h"

struct redisAsyncContext;
struct redisReply;

namespace respcache {

enum class CommandError {
  kNone,
  kTimeout,      // no answer within the command's timeout, or Redis is stalled
  kUnavailable,  // not connected, or the connection dropped with the command in flight
  kClosed,       // Close() was called
  kAborted,      // Abort(): the environment is going away; release `data`, touch nothing else
  kUnconfirmed,  // ClusterClient::CommandDurable only: fewer replicas than asked for confirmed
                 // the write within the deadline (RedisConnection never reports it)
};

class RedisConnection final : private UvAdapterHooks {
 public:
  enum class State { kConnecting, kReady, kReconnecting, kClosed };

  struct Options {
    RedisEndpoint endpoint;
    uint32_t connect_timeout_ms = 1000;
    uint32_t command_timeout_ms = 100;
    bool subscriber = false;  // a dedicated pub/sub connection (see above)
    // Every handshake sends ROLE and fails the attempt (retried like any failed attempt) unless the
    // server says "master"; the replicas it lists are kept (connected_replicas()). A READONLY error
    // reply to any command then also drops the connection and reconnects: the master was demoted.
    bool expect_master = false;
    // Script texts SCRIPT LOADed by every handshake: each new connection (a new master after a
    // failover or Retarget) has them before kReady, so EVALSHA needs no NOSCRIPT round trip.
    std::vector<std::string> preload;
  };

  enum class PubSubOp { kSubscribe, kUnsubscribe, kPSubscribe, kPUnsubscribe };

  using Message = PubSubMessage;

  class Listener {
   public:
    virtual ~Listener() = default;
    // Bracket every callback made from a libuv event, so the binding can open one scope per batch.
    virtual void EnterLoopEvent() = 0;
    virtual void ExitLoopEvent() = 0;
    // The connection changed state; `error` says what failure caused it, or is empty, and `kind`
    // what sort of failure it was (kUnavailable unless TLS failed; its messages then begin
    // "TLS to host:port: ").
    virtual void OnStateChange(State state, const std::string& error, FailureKind kind) = 0;
    // Close() has finished: no callback follows.
    virtual void OnClosed() = 0;
    // A subscriber connection received a message (from a loop event, between Enter/ExitLoopEvent).
    virtual void OnMessage(const Message& message) { (void)message; }
  };

  // `reply` is non-null exactly when error == kNone (it may be a Redis error reply).
  using Callback = void (*)(void* data, redisReply* reply, CommandError error, const char* message);

  RedisConnection(uv_loop_t* loop, Options options, Listener* listener);
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Starts the first connection attempt on the next loop turn.
  void Connect();
  // Sends argv (copied before returning). timeout_ms == 0 means the default command timeout.
  // flush_now writes the output buffer to the socket before returning (when connected) instead of
  // on the next writable event: a store issued while a response ends is then in Redis's hands
  // before the client can see the response complete, so any connection's next read finds it.
  // Without it, commands issued in one loop turn go out together in one write.
  void Command(int argc, const char* const* argv, const size_t* lens, uint32_t timeout_ms,
               Callback cb, void* data, bool flush_now = false);
  // Subscriber connections only. Updates the subscription set at once, whatever the outcome (it
  // is what the next connection subscribes; a refusal by Redis removes the name again), then
  // sends the command like Command(): `cb` gets Redis's confirmation (an array) or an error.
  void PubSub(PubSubOp op, std::string_view name, Callback cb, void* data);
  // Moves the connection to `endpoint` (the whole endpoint: copy endpoint() and change host and
  // port to keep credentials, db and the TLS context). Commands in flight on the current
  // connection fail with kUnavailable (each callback once: synchronously from this call, or
  // right after the reply callback returns when called from inside one); an
  // attempt to the new endpoint starts on the next loop turn, and commands issued meanwhile, or
  // queued already, wait for it within their own timeouts as during any attempt. A subscriber
  // subscribes its channels and patterns on the new server as part of that handshake. A ready
  // connection reports kReconnecting (with no error) synchronously. No effect once closed.
  void Retarget(const RedisEndpoint& endpoint);
  // Fails queued commands, lets commands in flight finish within their timeouts, then disconnects.
  void Close();
  // Environment teardown: frees everything now; callbacks fire with kClosed, none after this call.
  void Abort();
  // No further Listener calls (the listener is going away).
  void DetachListener() { listener_ = nullptr; }
  // Called once every handle is closed, just before the object deletes itself: the last moment
  // at which code of this library runs for the connection (a worker unloads the addon after).
  void SetFinishedCallback(void (*fn)(void*), void* arg) {
    finished_fn_ = fn;
    finished_arg_ = arg;
  }

  State state() const { return state_; }
  bool subscriber() const { return options_.subscriber; }
  const RedisEndpoint& endpoint() const { return options_.endpoint; }
  // expect_master only: the replicas ROLE listed in the last handshake, i.e. those whose initial
  // sync had completed (how many a WAIT can ask for); -1 before the first ROLE answer or without
  // expect_master. Not updated between handshakes.
  int connected_replicas() const { return connected_replicas_; }
  // Why the last connection attempt failed (empty, kUnavailable: none has failed), set before
  // the commands queued for it fail with only "could not connect to Redis": a caller that needs
  // the cause (a TLS failure's kind) reads it from their callbacks.
  const std::string& last_attempt_error() const { return last_attempt_error_; }
  FailureKind last_attempt_kind() const { return last_attempt_kind_; }

 private:
  struct Pending;
  ~RedisConnection();

  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnHandshakeReply(void* data, redisReply* reply, CommandError error, const char* message);
  static void OnRoleReply(void* data, redisReply* reply, CommandError error, const char* message);
  static void OnDeadlineTimer(uv_timer_t* timer);
  static void OnConnectTimer(uv_timer_t* timer);
  static void OnRetryTimer(uv_timer_t* timer);
  static void OnGuardTimer(uv_timer_t* timer);
  static void OnHandleClosed(uv_handle_t* handle);
  static void OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res);

  void StartAttempt();
  void Resolve();
  void ConnectTo(const std::string& address);
  void StartHandshake();
  void BecomeReady();
  void AttemptFailed(const std::string& error, FailureKind kind = FailureKind::kUnavailable);
  void ConnectionLost(const std::string& error, FailureKind kind = FailureKind::kUnavailable);
  void DropContext();
  void ScheduleRetry();
  void SetState(State state, const std::string& error, FailureKind kind);
  void Submit(int argc, const char* const* argv, const size_t* lens, uint32_t timeout_ms,
              Callback cb, void* data, bool flush_now, int sub_op, std::string_view sub_name);
  bool Send(Pending* p, int argc, const char* const* argv, const size_t* lens);
  // Whether p's command is still in the output buffer, not yet written to the socket.
  bool Unsent(const Pending* p) const;
  void Track(Pending* p);
  void Untrack(Pending* p);
  void ArmDeadlineTimer();
  void FailQueued(CommandError error, const char* message);
  void FinishClose();
  void BeforeEvents() override;
  void AfterEvents() override;
  void AdapterClosed() override;
  void ProcessReplies(redisAsyncContext* ac) override;
  void TlsEstablished(redisAsyncContext* ac) override;
  void LinkFailed(FailureKind kind, const std::string& cause) override;
  void DispatchSubscriberReply(redisReply* reply);
  void FailAwaiting();
  void HandleClosed();
  void Settle(Pending* p, redisReply* reply, CommandError error, const char* message);

  uv_loop_t* loop_;
  Options options_;
  Listener* listener_;
  redisAsyncContext* ac_ = nullptr;
  State state_ = State::kConnecting;
  bool attempt_in_progress_ = false;
  bool handshake_done_ = false;
  int handshake_left_ = 0;
  bool closing_ = false;
  bool finished_ = false;
  bool aborted_ = false;
  uint64_t stall_since_ms_ = 0;
  uint32_t retries_ = 0;
  int connected_replicas_ = -1;
  // The TLS failure the adapter reported for the current context (kUnavailable: none).
  FailureKind link_failure_kind_ = FailureKind::kUnavailable;
  std::string link_failure_;
  ReplyLimitState reply_limits_;  // what this connection's reader refused (native/redis/reply_limits.h)
  std::string last_attempt_error_;
  FailureKind last_attempt_kind_ = FailureKind::kUnavailable;
  int open_handles_ = 0;  // our timers, every adapter's poll handle and a resolution not yet done
  // A host name is resolved on libuv's thread pool (uv_getaddrinfo), never on the loop: hiredis
  // 0.14 would call a blocking getaddrinfo there. The attempt it belongs to is `attempt`; an
  // answer for an older attempt (timed out, retargeted, closed) is dropped.
  struct Resolution {
    uv_getaddrinfo_t req;
    RedisConnection* self;
    uint64_t attempt;
  };
  Resolution* resolving_ = nullptr;
  uint64_t attempt_id_ = 0;
  void (*finished_fn_)(void*) = nullptr;
  void* finished_arg_ = nullptr;

  // Unsettled commands, ordered by deadline (commands with the default timeout append in order).
  Pending* head_ = nullptr;
  Pending* tail_ = nullptr;
  std::vector<Pending*> queued_;  // waiting for a connection attempt, in issue order
  // Subscriber connections: commands sent and not yet answered, in send order (hiredis holds none
  // of them), and the channels and patterns every connection subscribes.
  std::deque<Pending*> awaiting_;
  std::set<std::string> channels_;
  std::set<std::string> patterns_;
  uint32_t timed_out_in_flight_ = 0;
  // Bytes formatted into the current context's output buffer since it was made: a command is on
  // the wire once this, less what the buffer still holds, reaches its Pending::out_end.
  uint64_t bytes_queued_ = 0;
  bool deadline_armed_ = false;
  uint64_t armed_for_ms_ = 0;

  uv_timer_t deadline_timer_;
  uv_timer_t connect_timer_;
  uv_timer_t retry_timer_;
  uv_timer_t guard_timer_;
};

const char* StateName(RedisConnection::State state);

}  // namespace respcache
