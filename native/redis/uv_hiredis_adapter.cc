#include "redis/uv_hiredis_adapter.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// hiredis 0.14's hiredis.h includes sds.h outside its extern "C": include it first, as C.
extern "C" {
#include <hiredis/sds.h>
}
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <utility>

#include "redis/tls_session.h"

// CMake compiles this layer once per libuv (Node's headers for the addon, Debian's for the tests)
// and says which: a stray uv.h earlier on the include path must never replace the intended one.
#if defined(RESPCACHE_UV_MAJOR) && defined(RESPCACHE_UV_MINOR)
static_assert(UV_VERSION_MAJOR == RESPCACHE_UV_MAJOR && UV_VERSION_MINOR == RESPCACHE_UV_MINOR,
              "uv.h is not the libuv this target was configured for");
#endif

// The TLS path relies on c->obuf being an sds, on c->err/errstr, and on redisAsyncHandleRead
// disconnecting without reading when c->err is already set: true of hiredis 0.14 (tested) and,
// by their source, of 1.x (untested here; its sdsrange takes ssize_t, which an int converts to).
static_assert(HIREDIS_MAJOR >= 1 || HIREDIS_MINOR >= 14, "hiredis 0.14 or later is needed");

namespace respcache {
namespace {

// Large reads let a 100 KB reply arrive in one wake-up instead of seven; the buffer is per adapter
// so concurrent connections never share it.
constexpr size_t kReadChunk = 256 * 1024;

struct UvAdapter {
  redisAsyncContext* context;  // null once hiredis has begun freeing the context
  UvAdapterHooks* hooks;
  uv_poll_t poll;
  int events = 0;              // what the poll handle is currently started for
  char* buffer = nullptr;
  // TLS only (null for plain TCP).
  std::unique_ptr<TlsSession> tls;
  bool tls_handshaking = false;
  bool read_wants_write = false;  // SSL_read needs the socket writable (a key update, say)
  bool write_wants_read = false;  // SSL_write needs the socket readable first
  FailureKind failure_kind = FailureKind::kUnavailable;  // a failure left for the next event
  std::string failure;
};

void OnPoll(uv_poll_t* handle, int status, int events);

void SetEvents(UvAdapter* a, int events) {
  if (events == a->events) return;  // no epoll re-registration when nothing changes
  a->events = events;
  if (events) {
    uv_poll_start(&a->poll, events, OnPoll);
  } else {
    uv_poll_stop(&a->poll);
  }
}

void AddRead(void* p) { auto* a = static_cast<UvAdapter*>(p); SetEvents(a, a->events | UV_READABLE); }
void DelRead(void* p) { auto* a = static_cast<UvAdapter*>(p); SetEvents(a, a->events & ~UV_READABLE); }
void AddWrite(void* p) { auto* a = static_cast<UvAdapter*>(p); SetEvents(a, a->events | UV_WRITABLE); }
void DelWrite(void* p) { auto* a = static_cast<UvAdapter*>(p); SetEvents(a, a->events & ~UV_WRITABLE); }

void OnClosed(uv_handle_t* handle) {
  auto* a = static_cast<UvAdapter*>(handle->data);
  UvAdapterHooks* hooks = a->hooks;
  std::free(a->buffer);
  delete a;  // the TLS session is already gone (Cleanup)
  hooks->AdapterClosed();
}

void Cleanup(void* p) {
  auto* a = static_cast<UvAdapter*>(p);
  a->context = nullptr;
  // hiredis closes the socket after this: the close_notify goes out first.
  a->tls.reset();
  if (a->events) uv_poll_stop(&a->poll);
  a->events = 0;
  uv_close(reinterpret_cast<uv_handle_t*>(&a->poll), OnClosed);
}

void ReadTls(UvAdapter* a);

// Reads everything the socket holds into the reply reader, dispatching per chunk (over TLS:
// ReadTls). EOF and hard errors are left to redisAsyncHandleRead, which reads again, sees them
// and runs hiredis's own disconnect path (callbacks fire with NULL, then the disconnect callback).
void ReadAvailable(UvAdapter* a) {
  if (a->tls) {
    ReadTls(a);
    return;
  }
  redisAsyncContext* ac = a->context;
  redisContext* c = &ac->c;
  if (!a->buffer) {
    a->buffer = static_cast<char*>(std::malloc(kReadChunk));
    if (!a->buffer) {
      redisAsyncHandleRead(ac);
      return;
    }
  }
  bool fed = false;
  for (;;) {
    ssize_t n = ::read(c->fd, a->buffer, kReadChunk);
    if (n > 0) {
      if (redisReaderFeed(c->reader, a->buffer, static_cast<size_t>(n)) != REDIS_OK) {
        // Only fails on out-of-memory; let hiredis report it through its own read path.
        redisAsyncHandleRead(ac);
        return;
      }
      fed = true;
      // Dispatch per chunk: hiredis 0.14's reader moves its unread bytes to the front after
      // each reply, so feeding megabytes before dispatching costs time quadratic in the backlog
      // (measured: 100 x 100 KB in flight ran at a third of the speed of 10 in flight).
      a->hooks->ProcessReplies(ac);
      if (!a->context) return;
      fed = false;
      if (static_cast<size_t>(n) < kReadChunk) break;  // drained: saves an EAGAIN syscall
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // EOF or a socket error: hand over what was read, then let hiredis see the condition.
    const int error = n < 0 ? errno : 0;
    if (fed) {
      a->hooks->ProcessReplies(ac);
      if (!a->context) return;
    }
    if (error != 0 && !c->err) {
      // The kernel reports a socket error (ECONNRESET, say) to one read only: hiredis's own
      // read would then see a plain EOF and say "Server closed the connection". It skips the
      // read and disconnects with this error when the context already holds one.
      c->err = REDIS_ERR_IO;
      snprintf(c->errstr, sizeof c->errstr, "%s", std::strerror(error));
    }
    redisAsyncHandleRead(ac);
    return;
  }
  if (fed) a->hooks->ProcessReplies(ac);
}

// --- TLS ---------------------------------------------------------------------------------------

// Poll events wanted in TLS mode: always readable (replies, alerts, close_notify); writable while
// the handshake or a read asks for it, or while c->obuf holds bytes that SSL_write can take.
void TlsSetEvents(UvAdapter* a) {
  int events = UV_READABLE;
  if (a->read_wants_write) events |= UV_WRITABLE;
  if (!a->tls_handshaking && !a->write_wants_read && sdslen(a->context->c.obuf) > 0) {
    events |= UV_WRITABLE;
  }
  SetEvents(a, events);
}

// Disconnects through hiredis's own path, as the plain read does on a socket error: with c->err
// preset, redisAsyncHandleRead skips its read and disconnects (callbacks fire with NULL, then
// the disconnect callback). A TLS failure is told to the owner first, so it can report it.
void Disconnect(UvAdapter* a, FailureKind kind, const std::string& cause, int redis_err) {
  redisContext* c = &a->context->c;
  if (!c->err) {
    c->err = redis_err;
    snprintf(c->errstr, sizeof c->errstr, "%s", cause.c_str());
  }
  if (kind != FailureKind::kUnavailable) a->hooks->LinkFailed(kind, cause);
  redisAsyncHandleRead(a->context);
}

// As the plain path words it: EOF is "Server closed the connection" (REDIS_ERR_EOF), anything
// else an I/O error with its reason.
void DisconnectFromSession(UvAdapter* a) {
  Disconnect(a, a->tls->failure_kind(), a->tls->failure(),
             a->tls->peer_closed() ? REDIS_ERR_EOF : REDIS_ERR_IO);
}

// Writes c->obuf through SSL_write as far as the socket takes it. Returns false on a failure,
// recorded in the adapter and in c->err (the caller decides whether to disconnect now).
bool WriteTls(UvAdapter* a) {
  redisContext* c = &a->context->c;
  a->write_wants_read = false;
  // Written from an offset and trimmed once at the end: trimming after every record (16 KiB)
  // moved the rest of the buffer each time, quadratic in its size (a 32 MB store blocked the
  // loop for 3.7 s). At most INT_MAX per call, what hiredis 0.14's sdsrange takes.
  size_t done = 0;
  const size_t len = std::min<size_t>(sdslen(c->obuf), INT_MAX);
  while (done < len) {
    size_t n = 0;
    TlsSession::Status st = a->tls->Write(c->obuf + done, len - done, &n);
    if (st == TlsSession::Status::kOk) {
      done += n;
      continue;
    }
    if (st == TlsSession::Status::kWantWrite) break;
    if (st == TlsSession::Status::kWantRead) {
      a->write_wants_read = true;
      break;
    }
    if (done) sdsrange(c->obuf, static_cast<int>(done), -1);
    a->failure_kind = a->tls->failure_kind();
    a->failure = a->tls->failure();
    c->err = REDIS_ERR_IO;
    snprintf(c->errstr, sizeof c->errstr, "%s", a->failure.c_str());
    return false;
  }
  if (done) sdsrange(c->obuf, static_cast<int>(done), -1);
  return true;
}

// A write failed: the server may have said why in an alert already waiting (a TLS 1.3 server
// rejecting our certificate sends one, then closes). Reading it gives the better reason.
void DisconnectAfterWriteFailure(UvAdapter* a) {
  char probe[512];
  size_t n = 0;
  TlsSession::Status st = a->tls->Read(probe, sizeof probe, &n);
  if (st == TlsSession::Status::kFailed && a->tls->failure_kind() != FailureKind::kUnavailable) {
    a->failure_kind = a->tls->failure_kind();
    a->failure = a->tls->failure();
    snprintf(a->context->c.errstr, sizeof a->context->c.errstr, "%s", a->failure.c_str());
  }
  Disconnect(a, a->failure_kind, a->failure, REDIS_ERR_IO);
}

void DriveHandshake(UvAdapter* a) {
  if (!a->tls_handshaking) return;
  TlsSession::Status st = a->tls->Handshake();
  switch (st) {
    case TlsSession::Status::kOk:
      a->tls_handshaking = false;
      a->hooks->TlsEstablished(a->context);
      if (!a->context) return;
      // The owner's handshake commands are in c->obuf: the socket is surely writable now.
      if (!WriteTls(a)) {
        DisconnectAfterWriteFailure(a);
        return;
      }
      TlsSetEvents(a);
      return;
    case TlsSession::Status::kWantRead:
      SetEvents(a, UV_READABLE);
      return;
    case TlsSession::Status::kWantWrite:
      SetEvents(a, UV_READABLE | UV_WRITABLE);
      return;
    default:
      DisconnectFromSession(a);
      return;
  }
}

// As ReadAvailable: fills the buffer with as many records as are waiting and dispatches per
// filled chunk.
void ReadTls(UvAdapter* a) {
  redisAsyncContext* ac = a->context;
  redisContext* c = &ac->c;
  if (!a->buffer) {
    a->buffer = static_cast<char*>(std::malloc(kReadChunk));
    if (!a->buffer) {
      Disconnect(a, FailureKind::kUnavailable, "Out of memory", REDIS_ERR_OOM);
      return;
    }
  }
  a->read_wants_write = false;
  for (;;) {
    size_t filled = 0;
    TlsSession::Status st = TlsSession::Status::kOk;
    while (filled < kReadChunk) {
      size_t n = 0;
      st = a->tls->Read(a->buffer + filled, kReadChunk - filled, &n);
      if (st != TlsSession::Status::kOk) break;
      filled += n;
    }
    if (filled > 0) {
      if (redisReaderFeed(c->reader, a->buffer, filled) != REDIS_OK) {
        Disconnect(a, FailureKind::kUnavailable, "Out of memory", REDIS_ERR_OOM);
        return;
      }
      a->hooks->ProcessReplies(ac);
      if (!a->context) return;
    }
    if (st == TlsSession::Status::kOk) continue;  // the chunk filled up: more may be waiting
    if (st == TlsSession::Status::kWantRead) break;
    if (st == TlsSession::Status::kWantWrite) {
      a->read_wants_write = true;
      break;
    }
    DisconnectFromSession(a);
    return;
  }
  TlsSetEvents(a);
}

void TlsEvents(UvAdapter* a, int events) {
  redisContext* c = &a->context->c;
  if (c->err) {
    // A write failure left by FlushOutput inside a JavaScript call.
    DisconnectAfterWriteFailure(a);
    return;
  }
  if (a->tls_handshaking) {
    DriveHandshake(a);
    return;
  }
  if ((events & UV_READABLE) || (a->read_wants_write && (events & UV_WRITABLE))) {
    ReadTls(a);
    if (!a->context) return;
  }
  if ((events & UV_WRITABLE) || (a->write_wants_read && (events & UV_READABLE))) {
    if (!WriteTls(a)) {
      DisconnectAfterWriteFailure(a);
      return;
    }
  }
  TlsSetEvents(a);
}

void OnPoll(uv_poll_t* handle, int status, int events) {
  auto* a = static_cast<UvAdapter*>(handle->data);
  if (!a->context) return;
  // An error status (a refused connect arrives this way) must still reach hiredis, or the
  // connection never settles: give it the events it asked for, and it finds the socket error.
  if (status < 0) events = a->events;
  // The hooks' owner outlives the adapter: it waits for AdapterClosed before deleting itself.
  UvAdapterHooks* hooks = a->hooks;
  hooks->BeforeEvents();
  if (a->tls) {
    TlsEvents(a, events);
    hooks->AfterEvents();
    return;
  }
  bool connected = (a->context->c.flags & REDIS_CONNECTED) != 0;
  if (events & UV_READABLE) {
    if (connected) {
      ReadAvailable(a);
    } else {
      redisAsyncHandleRead(a->context);
    }
  }
  if (a->context && (events & UV_WRITABLE)) redisAsyncHandleWrite(a->context);
  // The connect callback has just started TLS (StartTls): the handshake begins at once.
  if (a->context && a->tls) DriveHandshake(a);
  hooks->AfterEvents();
}

}  // namespace

void ReadPendingReplies(redisAsyncContext* ac) {
  auto* a = static_cast<UvAdapter*>(ac->ev.data);
  if (!a || !a->context || !(ac->c.flags & REDIS_CONNECTED) || a->tls_handshaking) return;
  if (a->tls && ac->c.err) return;  // a failed flush: the next poll event disconnects
  ReadAvailable(a);
}

void StartTls(redisAsyncContext* ac, std::shared_ptr<const TlsContext> context,
              const std::string& host) {
  auto* a = static_cast<UvAdapter*>(ac->ev.data);
  std::string error;
  a->tls = TlsSession::Create(std::move(context), ac->c.fd, host, &error);
  if (!a->tls) {
    ac->c.err = REDIS_ERR_OTHER;
    snprintf(ac->c.errstr, sizeof ac->c.errstr, "%s", error.c_str());
    return;
  }
  a->tls_handshaking = true;
}

bool InTlsHandshake(const redisAsyncContext* ac) {
  auto* a = static_cast<const UvAdapter*>(ac->ev.data);
  return a && a->tls && a->tls_handshaking;
}

void FlushOutput(redisAsyncContext* ac) {
  auto* a = static_cast<UvAdapter*>(ac->ev.data);
  if (!a || !a->tls) {
    int done = 0;
    redisBufferWrite(&ac->c, &done);
    return;
  }
  if (!a->context || a->tls_handshaking || ac->c.err) return;
  if (!WriteTls(a)) {
    SetEvents(a, UV_READABLE | UV_WRITABLE);  // the next event finds c->err and disconnects
    return;
  }
  TlsSetEvents(a);
}

bool AttachUvAdapter(redisAsyncContext* ac, uv_loop_t* loop, UvAdapterHooks* hooks) {
  if (ac->ev.data != nullptr) return false;
  auto* a = new UvAdapter();
  a->context = ac;
  a->hooks = hooks;
  if (uv_poll_init(loop, &a->poll, ac->c.fd) != 0) {
    delete a;
    return false;
  }
  a->poll.data = a;
  ac->ev.data = a;
  ac->ev.addRead = AddRead;
  ac->ev.delRead = DelRead;
  ac->ev.addWrite = AddWrite;
  ac->ev.delWrite = DelWrite;
  ac->ev.cleanup = Cleanup;
  return true;
}

}  // namespace respcache
