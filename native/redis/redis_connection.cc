#include "redis/redis_connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <netdb.h>
#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>

#include "redis/ip_literal.h"
#include "redis/loop_clock.h"
#include "redis/pubsub_message.h"
#include "redis/reconnect_policy.h"

// Exported by libhiredis 0.14 but not declared in its headers: parses and dispatches every complete
// reply that the reader holds.
extern "C" void redisProcessCallbacks(redisAsyncContext* ac);

namespace respcache {

struct RedisConnection::Pending {
  RedisConnection* conn;
  Callback cb;
  void* data;
  uint64_t deadline_ms;
  uint32_t timeout_ms;
  Pending* prev = nullptr;
  Pending* next = nullptr;
  bool tracked = false;    // in the deadline list, i.e. not settled yet
  bool settled = false;    // the callback has fired
  bool in_hiredis = false; // hiredis holds it and will call OnReply exactly once
  bool awaiting = false;   // sent on a subscriber connection: in awaiting_ until answered
  bool timed_out = false;  // settled by the deadline while its reply is still due
  uint64_t out_end = 0;    // RedisConnection::bytes_queued_ once its command was formatted
  int sub_op = -1;         // a PubSubOp (subscriber connections), else -1
  std::string sub_name;    // its channel or pattern
  std::vector<std::string> argv;  // only while queued for a connection attempt

  Pending(RedisConnection* c, Callback callback, void* d, uint64_t deadline, uint32_t timeout)
      : conn(c), cb(callback), data(d), deadline_ms(deadline), timeout_ms(timeout) {}
};

namespace {

// Reader buffer kept between replies: hiredis frees anything above its 16 KiB default after each
// batch, which turns every large reply into a fresh allocation.
constexpr size_t kReaderMaxBuf = 1 << 20;

const char* const kPubSubCommands[] = {"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"};

}  // namespace

const char* StateName(RedisConnection::State state) {
  switch (state) {
    case RedisConnection::State::kConnecting: return "connecting";
    case RedisConnection::State::kReady: return "ready";
    case RedisConnection::State::kReconnecting: return "reconnecting";
    case RedisConnection::State::kClosed: return "closed";
  }
  return "closed";
}

RedisConnection::RedisConnection(uv_loop_t* loop, Options options, Listener* listener)
    : loop_(loop), options_(std::move(options)), listener_(listener) {
  for (uv_timer_t* t : {&deadline_timer_, &connect_timer_, &retry_timer_, &guard_timer_}) {
    uv_timer_init(loop_, t);
    t->data = this;
    ++open_handles_;
  }
}

RedisConnection::~RedisConnection() = default;

void RedisConnection::BeforeEvents() {
  if (listener_) listener_->EnterLoopEvent();
}

void RedisConnection::AfterEvents() {
  if (listener_) listener_->ExitLoopEvent();
}

void RedisConnection::SetState(State state, const std::string& error, FailureKind kind) {
  state_ = state;
  if (listener_) listener_->OnStateChange(state, error, kind);
}

void RedisConnection::Connect() {
  if (closing_ || attempt_in_progress_ || ac_) return;
  attempt_in_progress_ = true;
  // Connecting on the next loop turn keeps every event out of the caller's stack, so listeners
  // attached right after construction see them all.
  uv_timer_start(&retry_timer_, OnRetryTimer, 0, 0);
}

void RedisConnection::StartAttempt() {
  attempt_in_progress_ = true;
  handshake_done_ = false;
  link_failure_kind_ = FailureKind::kUnavailable;
  link_failure_.clear();
  ++attempt_id_;
  // connect_timeout_ms bounds the whole attempt, a host name's resolution included.
  uv_timer_start(&connect_timer_, OnConnectTimer, options_.connect_timeout_ms, 0);
  const RedisEndpoint& e = options_.endpoint;
  if (e.path.empty() && !IsIpLiteral(e.host)) {
    Resolve();
    return;
  }
  ConnectTo(e.host);
}

void RedisConnection::Resolve() {
  auto* r = new Resolution{};
  r->self = this;
  r->attempt = attempt_id_;
  r->req.data = r;
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string& host = options_.endpoint.host;
  int rc = uv_getaddrinfo(loop_, &r->req, OnResolved, host.c_str(), nullptr, &hints);
  if (rc != 0) {
    delete r;
    AttemptFailed("could not resolve the Redis host " + host + ": " + uv_strerror(rc));
    return;
  }
  resolving_ = r;
  ++open_handles_;  // until OnResolved: the connection outlives the request
}

void RedisConnection::OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res) {
  auto* r = static_cast<Resolution*>(req->data);
  RedisConnection* self = r->self;
  if (self->resolving_ == r) self->resolving_ = nullptr;
  const bool current = r->attempt == self->attempt_id_ && self->attempt_in_progress_ && !self->closing_;
  delete r;
  if (current) {
    self->BeforeEvents();
    // As hiredis 0.14 did: an IPv4 address first, else an IPv6 one.
    std::string address;
    for (int family : {AF_INET, AF_INET6}) {
      for (struct addrinfo* a = status == 0 ? res : nullptr; a && address.empty(); a = a->ai_next) {
        if (a->ai_family != family) continue;
        char text[INET6_ADDRSTRLEN] = {0};
        int named = family == AF_INET
                        ? uv_ip4_name(reinterpret_cast<const sockaddr_in*>(a->ai_addr), text, sizeof text)
                        : uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(a->ai_addr), text, sizeof text);
        if (named == 0) address = text;
      }
    }
    if (address.empty()) {
      const std::string why = status != 0 ? uv_strerror(status) : "no IPv4 or IPv6 address";
      self->AttemptFailed("could not resolve the Redis host " + self->options_.endpoint.host + ": " + why);
    } else {
      self->ConnectTo(address);
    }
    self->AfterEvents();
  }
  if (res) uv_freeaddrinfo(res);
  self->HandleClosed();  // last: it may delete the connection
}

void RedisConnection::ConnectTo(const std::string& address) {
  const RedisEndpoint& e = options_.endpoint;
  redisAsyncContext* ac = e.path.empty() ? redisAsyncConnect(address.c_str(), e.port)
                                         : redisAsyncConnectUnix(e.path.c_str());
  if (!ac) {
    AttemptFailed("out of memory creating the Redis connection");
    return;
  }
  if (ac->err) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);
    AttemptFailed("could not connect to Redis at " + Describe(e) + ": " + why);
    return;
  }
  ac->data = this;
  reply_limits_ = ReplyLimitState();
  UseCappedReplies(ac->c.reader, &reply_limits_);
  if (!AttachUvAdapter(ac, loop_, this)) {
    redisAsyncFree(ac);
    AttemptFailed("could not watch the Redis socket");
    return;
  }
  ++open_handles_;  // the adapter's poll handle, until AdapterClosed
  ac_ = ac;
  bytes_queued_ = 0;
  // The adapter must be attached first: this call asks for write events at once.
  redisAsyncSetConnectCallback(ac, OnConnect);
  redisAsyncSetDisconnectCallback(ac, OnDisconnect);
}

void RedisConnection::OnConnect(const redisAsyncContext* cac, int status) {
  auto* ac = const_cast<redisAsyncContext*>(cac);
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (self->ac_ != ac) return;  // a context we already gave up on
  if (status != REDIS_OK) {
    // hiredis frees the context right after this callback and never calls OnDisconnect.
    self->ac_ = nullptr;
    self->AttemptFailed("could not connect to Redis at " + Describe(self->options_.endpoint) +
                        ": " + (ac->errstr ? ac->errstr : "unknown error"));
    return;
  }
  const RedisEndpoint& e = self->options_.endpoint;
  if (e.tls) {
    // Nothing reaches the socket before the TLS handshake: ours starts once it is done.
    StartTls(ac, e.tls, e.path.empty() ? e.host : std::string());
    return;
  }
  self->StartHandshake();
}

void RedisConnection::TlsEstablished(redisAsyncContext* ac) {
  if (ac == ac_) StartHandshake();
}

void RedisConnection::LinkFailed(FailureKind kind, const std::string& cause) {
  link_failure_kind_ = kind;
  link_failure_ = cause;
}

void RedisConnection::StartHandshake() {
  if (ac_->c.reader) ac_->c.reader->maxbuf = kReaderMaxBuf;
  const RedisEndpoint& e = options_.endpoint;
  auto send = [this](std::vector<std::string> args, int sub_op = -1,
                     Callback cb = OnHandshakeReply) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* p = new Pending(this, cb, this, FreshNowMs(loop_) + options_.connect_timeout_ms,
                          options_.connect_timeout_ms);
    if (sub_op >= 0) {
      p->sub_op = sub_op;
      p->sub_name = args[1];
    }
    if (!Send(p, static_cast<int>(argv.size()), argv.data(), lens.data())) {
      delete p;
      return false;
    }
    Track(p);
    ++handshake_left_;
    return true;
  };
  handshake_left_ = 0;
  bool ok = true;
  if (!e.password.empty()) {
    ok = e.username.empty() ? send({"AUTH", e.password}) : send({"AUTH", e.username, e.password});
  }
  if (ok && e.db != 0) ok = send({"SELECT", std::to_string(e.db)});
  if (ok && options_.expect_master) ok = send({"ROLE"}, -1, OnRoleReply);
  for (const std::string& script : options_.preload) {
    if (!ok) break;
    ok = send({"SCRIPT", "LOAD", script});
  }
  // One command per name: each has exactly one confirmation to wait for.
  for (const std::string& c : channels_) {
    if (!ok) break;
    ok = send({"SUBSCRIBE", c}, static_cast<int>(PubSubOp::kSubscribe));
  }
  for (const std::string& pattern : patterns_) {
    if (!ok) break;
    ok = send({"PSUBSCRIBE", pattern}, static_cast<int>(PubSubOp::kPSubscribe));
  }
  // Over TLS, 'ready' waits for one reply: a TLS 1.3 server that refuses our client certificate
  // says so only after its handshake completed, on our first read.
  if (ok && handshake_left_ == 0 && e.tls) ok = send({"PING"});
  if (!ok) {
    DropContext();
    AttemptFailed("could not send the Redis handshake");
    return;
  }
  if (handshake_left_ == 0) BecomeReady();
}

void RedisConnection::OnHandshakeReply(void* data, redisReply* reply, CommandError error,
                                       const char*) {
  auto* self = static_cast<RedisConnection*>(data);
  // Without a reply the connection is already being torn down by whoever dropped it.
  if (error != CommandError::kNone || self->closing_) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string why(reply->str, reply->len);
    self->DropContext();
    self->AttemptFailed("Redis refused the connection handshake: " + why);
    return;
  }
  if (--self->handshake_left_ == 0) self->BecomeReady();
}

void RedisConnection::OnRoleReply(void* data, redisReply* reply, CommandError error,
                                  const char* message) {
  auto* self = static_cast<RedisConnection*>(data);
  if (error != CommandError::kNone || self->closing_ || reply->type == REDIS_REPLY_ERROR) {
    OnHandshakeReply(data, reply, error, message);
    return;
  }
  // ROLE: ["master", offset, [[ip, port, offset]...]] | ["slave", ip, port, state, offset] |
  // ["sentinel", [names]].
  std::string role;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
      (reply->element[0]->type == REDIS_REPLY_STRING ||
       reply->element[0]->type == REDIS_REPLY_STATUS)) {
    role.assign(reply->element[0]->str, reply->element[0]->len);
  }
  if (role != "master") {
    std::string what = role == "slave" ? "a replica"
                       : role.empty()  ? "not a Redis that answers ROLE"
                                       : "a " + role;
    self->DropContext();
    self->AttemptFailed("Redis at " + Describe(self->options_.endpoint) + " is " + what +
                        ", not a master");
    return;
  }
  const redisReply* replicas = reply->elements >= 3 ? reply->element[2] : nullptr;
  self->connected_replicas_ =
      replicas && replicas->type == REDIS_REPLY_ARRAY ? static_cast<int>(replicas->elements) : 0;
  OnHandshakeReply(data, reply, error, message);
}

void RedisConnection::BecomeReady() {
  attempt_in_progress_ = false;
  handshake_done_ = true;
  retries_ = 0;
  uv_timer_stop(&connect_timer_);
  // Queued commands go first so that a 'ready' listener's own commands follow them.
  std::vector<Pending*> queued;
  queued.swap(queued_);
  for (Pending* p : queued) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : p->argv) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (!Send(p, static_cast<int>(argv.size()), argv.data(), lens.data())) {
      Settle(p, nullptr, CommandError::kUnavailable, "the connection to Redis was lost");
      delete p;
      continue;
    }
    std::vector<std::string>().swap(p->argv);
  }
  SetState(State::kReady, "", FailureKind::kUnavailable);
}

void RedisConnection::AttemptFailed(const std::string& error, FailureKind kind) {
  attempt_in_progress_ = false;
  handshake_done_ = false;
  uv_timer_stop(&connect_timer_);
  last_attempt_error_ = error;
  last_attempt_kind_ = kind;
  FailQueued(aborted_ ? CommandError::kAborted : CommandError::kUnavailable,
             "could not connect to Redis");
  if (closing_) return;
  SetState(State::kReconnecting, error, kind);
  ScheduleRetry();
}

void RedisConnection::ConnectionLost(const std::string& error, FailureKind kind) {
  if (attempt_in_progress_) {
    AttemptFailed(error, kind);
    return;
  }
  handshake_done_ = false;
  retries_ = 0;
  SetState(State::kReconnecting, error, kind);
  ScheduleRetry();
}

void RedisConnection::ScheduleRetry() {
  // Half fixed, half random: spreads reconnect storms of many app servers.
  static thread_local std::minstd_rand rng{static_cast<unsigned>(uv_hrtime())};  // not random_device: it needs glibc 2.36
  uint32_t delay = ReconnectDelayMs(retries_, rng);
  ++retries_;
  uv_timer_start(&retry_timer_, OnRetryTimer, delay, 0);
}

void RedisConnection::DropContext() {
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;  // first: the callbacks this triggers must see it as stale
  if (ac) redisAsyncFree(ac);
  FailAwaiting();
}

void RedisConnection::FailAwaiting() {
  if (awaiting_.empty()) return;
  CommandError error = aborted_ ? CommandError::kAborted
                       : closing_ ? CommandError::kClosed
                                  : CommandError::kUnavailable;
  const char* message = aborted_ ? "aborted"
                        : closing_ ? "the Redis client was closed"
                                   : "the connection to Redis was lost";
  std::deque<Pending*> awaiting;
  awaiting.swap(awaiting_);
  for (Pending* p : awaiting) {
    p->awaiting = false;
    if (p->timed_out && --timed_out_in_flight_ == 0) stall_since_ms_ = 0;
    Settle(p, nullptr, error, message);
    delete p;
  }
}

void RedisConnection::OnDisconnect(const redisAsyncContext* cac, int status) {
  auto* ac = const_cast<redisAsyncContext*>(cac);
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (self->ac_ != ac) return;
  self->ac_ = nullptr;
  self->FailAwaiting();
  if (self->closing_) {
    self->FinishClose();
    return;
  }
  if (self->link_failure_kind_ != FailureKind::kUnavailable) {
    self->ConnectionLost("TLS to " + Describe(self->options_.endpoint) + ": " + self->link_failure_,
                         self->link_failure_kind_);
    return;
  }
  std::string why = status == REDIS_OK ? "Redis closed the connection"
                                       : "lost the connection to Redis: " +
                                             ReaderFailure(ac->errstr, self->reply_limits_);
  self->ConnectionLost(why);
}

bool RedisConnection::Send(Pending* p, int argc, const char* const* argv, const size_t* lens) {
  if (!ac_) return false;
  const size_t before = sdslen(ac_->c.obuf);
  if (options_.subscriber) {
    // Formatted into hiredis's output buffer without a hiredis callback: ProcessReplies pairs
    // the reply with `p`.
    if ((ac_->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) ||
        redisAppendCommandArgv(&ac_->c, argc, const_cast<const char**>(argv), lens) != REDIS_OK) {
      return false;
    }
    if (ac_->ev.addWrite) ac_->ev.addWrite(ac_->ev.data);
    p->awaiting = true;
    awaiting_.push_back(p);
  } else {
    // hiredis formats (copies) the arguments into its output buffer before returning.
    if (redisAsyncCommandArgv(ac_, OnReply, p, argc, const_cast<const char**>(argv), lens) !=
        REDIS_OK) {
      return false;
    }
    p->in_hiredis = true;
  }
  // Appending never writes (hiredis writes on the next writable event): the buffer only grew.
  bytes_queued_ += sdslen(ac_->c.obuf) - before;
  p->out_end = bytes_queued_;
  return true;
}

bool RedisConnection::Unsent(const Pending* p) const {
  return ac_ && (p->in_hiredis || p->awaiting) && p->out_end > bytes_queued_ - sdslen(ac_->c.obuf);
}

void RedisConnection::PubSub(PubSubOp op, std::string_view name, Callback cb, void* data) {
  if (!closing_) {
    bool channel = op == PubSubOp::kSubscribe || op == PubSubOp::kUnsubscribe;
    std::set<std::string>& names = channel ? channels_ : patterns_;
    if (op == PubSubOp::kSubscribe || op == PubSubOp::kPSubscribe) {
      names.emplace(name);
    } else {
      names.erase(std::string(name));
    }
  }
  const char* command = kPubSubCommands[static_cast<int>(op)];
  const char* argv[2] = {command, name.data()};
  size_t lens[2] = {std::strlen(command), name.size()};
  Submit(2, argv, lens, 0, cb, data, false, static_cast<int>(op), name);
}

void RedisConnection::Command(int argc, const char* const* argv, const size_t* lens,
                              uint32_t timeout_ms, Callback cb, void* data, bool flush_now) {
  Submit(argc, argv, lens, timeout_ms, cb, data, flush_now, -1, {});
}

void RedisConnection::Submit(int argc, const char* const* argv, const size_t* lens,
                             uint32_t timeout_ms, Callback cb, void* data, bool flush_now,
                             int sub_op, std::string_view sub_name) {
  if (closing_) {
    cb(data, nullptr, CommandError::kClosed, "the Redis client is closed");
    return;
  }
  uint32_t timeout = timeout_ms ? timeout_ms : options_.command_timeout_ms;
  if (state_ == State::kReady && ac_ && handshake_done_) {
    if (timed_out_in_flight_ > 0) {
      cb(data, nullptr, CommandError::kTimeout,
         "Redis has not answered earlier commands within their timeout");
      return;
    }
    auto* p = new Pending(this, cb, data, FreshNowMs(loop_) + timeout, timeout);
    p->sub_op = sub_op;
    p->sub_name = sub_name;
    if (!Send(p, argc, argv, lens)) {
      delete p;
      cb(data, nullptr, CommandError::kUnavailable, "the connection to Redis is going down");
      return;
    }
    Track(p);
    if (flush_now) {
      // Not redisAsyncHandleWrite: a write error must not free the context in the middle of a
      // JavaScript call. It is left in c->err with the write event still armed, so the next
      // writable event finds it and disconnects through the usual path.
      FlushOutput(ac_);
    }
    return;
  }
  if (attempt_in_progress_) {
    auto* p = new Pending(this, cb, data, FreshNowMs(loop_) + timeout, timeout);
    p->sub_op = sub_op;
    p->sub_name = sub_name;
    p->argv.reserve(argc);
    for (int i = 0; i < argc; ++i) p->argv.emplace_back(argv[i], lens[i]);
    queued_.push_back(p);
    Track(p);
    return;
  }
  cb(data, nullptr, CommandError::kUnavailable, "not connected to Redis");
}

void RedisConnection::Settle(Pending* p, redisReply* reply, CommandError error,
                             const char* message) {
  if (p->settled) return;
  p->settled = true;
  Untrack(p);
  p->cb(p->data, reply, error, message);
}

void RedisConnection::OnReply(redisAsyncContext*, void* r, void* privdata) {
  auto* p = static_cast<Pending*>(privdata);
  RedisConnection* self = p->conn;
  p->in_hiredis = false;
  if (p->timed_out && --self->timed_out_in_flight_ == 0) self->stall_since_ms_ = 0;
  if (r) {
    auto* reply = static_cast<redisReply*>(r);
    self->Settle(p, reply, CommandError::kNone, nullptr);
    // A master demoted under us (a failover the Sentinels finished while we stayed connected)
    // refuses writes: reconnect, so the attempt's ROLE check makes us find the new master.
    if (self->options_.expect_master && reply->type == REDIS_REPLY_ERROR && reply->len >= 8 &&
        std::memcmp(reply->str, "READONLY", 8) == 0 && self->ac_ && self->handshake_done_ &&
        !self->closing_) {
      std::string why = "Redis at " + Describe(self->options_.endpoint) +
                        " answered READONLY: it is a replica now; reconnecting";
      // Inside hiredis's callback: the context is only marked here and freed once it returns;
      // the commands behind this one then fail with kUnavailable.
      self->DropContext();
      self->ConnectionLost(why);
    }
  } else if (self->aborted_) {
    self->Settle(p, nullptr, CommandError::kAborted, "aborted");
  } else if (self->closing_) {
    self->Settle(p, nullptr, CommandError::kClosed, "the Redis client was closed");
  } else {
    self->Settle(p, nullptr, CommandError::kUnavailable, "the connection to Redis was lost");
  }
  delete p;
}

void RedisConnection::ProcessReplies(redisAsyncContext* ac) {
  if (!options_.subscriber) {
    redisProcessCallbacks(ac);
    return;
  }
  redisContext* c = &ac->c;
  for (;;) {
    void* r = nullptr;
    if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
      std::string why = ReaderFailure(c->reader->errstr, reply_limits_);
      DropContext();
      ConnectionLost("lost the connection to Redis: " + why);
      return;
    }
    if (!r) return;
    auto* reply = static_cast<redisReply*>(r);
    // As hiredis does around its callbacks: a redisAsyncFree (DropContext) requested from inside,
    // e.g. by close() in a message listener, only marks the context; it is freed below, once
    // nothing here touches it any more.
    c->flags |= REDIS_IN_CALLBACK;
    DispatchSubscriberReply(reply);
    c->flags &= ~REDIS_IN_CALLBACK;
    freeReplyObject(reply);
    if (c->flags & REDIS_FREEING) {
      redisAsyncFree(ac);
      return;
    }
  }
}

void RedisConnection::DispatchSubscriberReply(redisReply* reply) {
  Message m;
  if (ParsePubSubMessage(reply, &m)) {
    if (listener_ && !closing_) listener_->OnMessage(m);
    return;
  }
  // Redis answers in order, so anything else answers the oldest command still awaiting a reply.
  if (awaiting_.empty()) {
    std::string why = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                       : "a reply to no command";
    DropContext();
    ConnectionLost("Redis sent " + why + "; reconnecting");
    return;
  }
  Pending* p = awaiting_.front();
  awaiting_.pop_front();
  p->awaiting = false;
  if (p->timed_out && --timed_out_in_flight_ == 0) stall_since_ms_ = 0;
  if (reply->type == REDIS_REPLY_ERROR &&
      (p->sub_op == static_cast<int>(PubSubOp::kSubscribe) ||
       p->sub_op == static_cast<int>(PubSubOp::kPSubscribe))) {
    // Refused (an ACL, say): not kept, or every reconnection's handshake would fail on it.
    (p->sub_op == static_cast<int>(PubSubOp::kSubscribe) ? channels_ : patterns_).erase(p->sub_name);
  }
  Settle(p, reply, CommandError::kNone, nullptr);
  delete p;
}

void RedisConnection::Track(Pending* p) {
  // Keep the list ordered by deadline; with one default timeout this is always an append.
  Pending* after = tail_;
  while (after && after->deadline_ms > p->deadline_ms) after = after->prev;
  p->prev = after;
  p->next = after ? after->next : head_;
  if (p->next) p->next->prev = p; else tail_ = p;
  if (after) after->next = p; else head_ = p;
  p->tracked = true;
  if (!deadline_armed_ || p->deadline_ms < armed_for_ms_) ArmDeadlineTimer();
}

void RedisConnection::Untrack(Pending* p) {
  if (!p->tracked) return;
  if (p->prev) p->prev->next = p->next; else head_ = p->next;
  if (p->next) p->next->prev = p->prev; else tail_ = p->prev;
  p->prev = p->next = nullptr;
  p->tracked = false;
}

void RedisConnection::ArmDeadlineTimer() {
  if (finished_) return;
  uint64_t wake = UINT64_MAX;
  if (head_) wake = head_->deadline_ms;
  if (timed_out_in_flight_ > 0) {
    wake = std::min(wake, stall_since_ms_ + StallLimitMs(options_.command_timeout_ms));
  }
  if (wake == UINT64_MAX) {
    uv_timer_stop(&deadline_timer_);
    deadline_armed_ = false;
    return;
  }
  uint64_t now = uv_now(loop_);
  uv_timer_start(&deadline_timer_, OnDeadlineTimer, wake > now ? wake - now : 0, 0);
  deadline_armed_ = true;
  armed_for_ms_ = wake;
}

void RedisConnection::OnDeadlineTimer(uv_timer_t* timer) {
  auto* self = static_cast<RedisConnection*>(timer->data);
  self->BeforeEvents();
  self->deadline_armed_ = false;
  // Replies that arrived while the loop was busy are still unread (see ReadPendingReplies):
  // take them before declaring anything late.
  if (self->ac_) ReadPendingReplies(self->ac_);
  uint64_t now = uv_now(self->loop_);
  // Commands still in the output buffer were never sent: the loop was busy from the moment they
  // were issued until now (a long turn of JavaScript; libuv runs due timers before it polls for
  // the writable socket). Redis cannot be late with them. They go now, and their timeouts count
  // from now; a buffer the socket does not take (Redis not reading) times out as usual.
  if (self->ac_ && self->head_ && self->head_->deadline_ms <= now && sdslen(self->ac_->c.obuf) > 0) {
    std::vector<Pending*> unsent;
    for (Pending* p = self->head_; p && p->deadline_ms <= now; p = p->next) {
      if (self->Unsent(p)) unsent.push_back(p);
    }
    if (!unsent.empty()) {
      FlushOutput(self->ac_);
      for (Pending* p : unsent) {
        if (!self->ac_ || self->Unsent(p)) continue;
        self->Untrack(p);
        p->deadline_ms = now + p->timeout_ms;
        self->Track(p);
      }
    }
  }
  while (self->head_ && self->head_->deadline_ms <= now) {
    Pending* p = self->head_;
    if (p->in_hiredis || p->awaiting) {
      // Its reply is still due: OnReply or ProcessReplies takes it when (if) Redis answers.
      p->timed_out = true;
      if (self->timed_out_in_flight_++ == 0) self->stall_since_ms_ = p->deadline_ms - p->timeout_ms;
      std::string msg = "Redis did not answer within " + std::to_string(p->timeout_ms) + " ms";
      self->Settle(p, nullptr, CommandError::kTimeout, msg.c_str());
    } else {
      auto& q = self->queued_;
      q.erase(std::remove(q.begin(), q.end(), p), q.end());
      self->Settle(p, nullptr, CommandError::kTimeout,
                   "timed out waiting for the connection to Redis");
      delete p;
    }
  }
  if (self->timed_out_in_flight_ > 0 && self->ac_ &&
      now - self->stall_since_ms_ >= StallLimitMs(self->options_.command_timeout_ms)) {
    self->DropContext();
    self->ConnectionLost("Redis stopped answering; reconnecting");
  }
  self->ArmDeadlineTimer();
  self->AfterEvents();
}

void RedisConnection::OnConnectTimer(uv_timer_t* timer) {
  auto* self = static_cast<RedisConnection*>(timer->data);
  if (!self->attempt_in_progress_ || self->closing_) return;
  self->BeforeEvents();
  const bool in_tls = self->ac_ && InTlsHandshake(self->ac_);
  self->DropContext();
  const std::string after = "timed out after " + std::to_string(self->options_.connect_timeout_ms) + " ms";
  if (in_tls) {
    // A plain Redis on that port waits for the end of an inline command that never comes.
    self->AttemptFailed("TLS to " + Describe(self->options_.endpoint) + ": " + after +
                            " in the TLS handshake (does the server speak TLS on this port?)",
                        FailureKind::kTlsHandshake);
  } else {
    self->AttemptFailed(after + " connecting to Redis at " + Describe(self->options_.endpoint));
  }
  self->AfterEvents();
}

void RedisConnection::OnRetryTimer(uv_timer_t* timer) {
  auto* self = static_cast<RedisConnection*>(timer->data);
  if (self->closing_) return;
  self->BeforeEvents();
  self->StartAttempt();
  self->AfterEvents();
}

void RedisConnection::FailQueued(CommandError error, const char* message) {
  std::vector<Pending*> queued;
  queued.swap(queued_);
  for (Pending* p : queued) {
    Settle(p, nullptr, error, message);
    delete p;
  }
}

void RedisConnection::Retarget(const RedisEndpoint& endpoint) {
  if (closing_) return;
  options_.endpoint = endpoint;
  uv_timer_stop(&connect_timer_);
  uv_timer_stop(&retry_timer_);
  const bool was_ready = state_ == State::kReady;
  handshake_done_ = false;
  // Set before the context goes, so that nothing issued from a callback below fails as "not
  // connected": it queues for the new attempt.
  attempt_in_progress_ = true;
  retries_ = 0;
  DropContext();
  if (closing_) return;  // a callback above closed the connection
  if (was_ready && state_ == State::kReady) SetState(State::kReconnecting, "", FailureKind::kUnavailable);
  if (closing_) return;
  uv_timer_start(&retry_timer_, OnRetryTimer, 0, 0);
}

void RedisConnection::Close() {
  if (closing_) return;
  closing_ = true;
  uv_timer_stop(&retry_timer_);
  uv_timer_stop(&connect_timer_);
  attempt_in_progress_ = false;
  state_ = State::kClosed;
  FailQueued(CommandError::kClosed, "the Redis client was closed");
  if (!ac_) {
    FinishClose();
    return;
  }
  if (!handshake_done_ || options_.subscriber) {
    // A subscriber just closes: commands awaiting replies (subscriptions, PINGs) fail with kClosed.
    DropContext();
    FinishClose();
    return;
  }
  // Commands in flight get their replies (or their timeouts); the guard frees the context if Redis
  // never answers them. Armed before the disconnect, which may complete synchronously.
  uint64_t now = uv_now(loop_);
  uint64_t last = tail_ ? tail_->deadline_ms : now;
  uv_timer_start(&guard_timer_, OnGuardTimer, (last > now ? last - now : 0) + 10, 0);
  redisAsyncDisconnect(ac_);
}

void RedisConnection::OnGuardTimer(uv_timer_t* timer) {
  auto* self = static_cast<RedisConnection*>(timer->data);
  self->BeforeEvents();
  self->DropContext();
  self->FinishClose();
  self->AfterEvents();
}

void RedisConnection::Abort() {
  if (aborted_) return;
  aborted_ = true;
  listener_ = nullptr;
  closing_ = true;
  state_ = State::kClosed;
  FailQueued(CommandError::kAborted, "aborted");
  DropContext();
  while (head_) Settle(head_, nullptr, CommandError::kAborted, "aborted");
  FinishClose();
}

void RedisConnection::FinishClose() {
  if (finished_) return;
  finished_ = true;
  // A resolution under way ends sooner (OnResolved then gets UV_EAI_CANCELED and drops it).
  if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(&resolving_->req));
  // Anything still unsettled (timed-out commands are already settled) ends here.
  while (head_) Settle(head_, nullptr, CommandError::kClosed, "the Redis client was closed");
  for (uv_timer_t* t : {&deadline_timer_, &connect_timer_, &retry_timer_, &guard_timer_}) {
    uv_timer_stop(t);
    uv_close(reinterpret_cast<uv_handle_t*>(t), OnHandleClosed);
  }
}

void RedisConnection::OnHandleClosed(uv_handle_t* handle) {
  static_cast<RedisConnection*>(handle->data)->HandleClosed();
}

void RedisConnection::AdapterClosed() { HandleClosed(); }

void RedisConnection::HandleClosed() {
  // Timers close only in FinishClose, so zero means the connection is finished for good.
  if (--open_handles_ > 0) return;
  if (listener_) {
    Listener* l = listener_;
    l->EnterLoopEvent();
    l->OnClosed();
    l->ExitLoopEvent();
  }
  void (*fn)(void*) = finished_fn_;
  void* arg = finished_arg_;
  delete this;
  if (fn) fn(arg);
}

}  // namespace respcache
