// Attaches a hiredis async context to a libuv loop (Node's own). Replaces Debian hiredis 0.14's
// adapters/libuv.h, which (a) drops poll errors, so a refused connect never settles, (b) calls
// uv_poll_start after every read even when nothing changes, and (c) reads at most 16 KiB per
// wake-up through hiredis's own stack buffer.
//
// TLS (StartTls): hiredis still makes the TCP connection, formats commands into c->obuf and parses
// replies with c->reader, but once the socket is connected every byte goes through the
// connection's TlsSession: the handshake runs on poll events, reads go through SSL_read into the
// reader, and c->obuf is written with SSL_write (FlushOutput) instead of hiredis's write(). The
// plain path is unchanged: each TLS step sits behind one pointer test.
#pragma once
#include <uv.h>

#include <memory>
#include <string>

#include "redis/failure_kind.h"
#include "redis/tls_context.h"

struct redisAsyncContext;

namespace respcache {

// Called around every batch of hiredis work that one poll event triggers, so that the owner can
// open its scopes once per batch rather than once per reply.
class UvAdapterHooks {
 public:
  virtual void BeforeEvents() = 0;
  virtual void AfterEvents() = 0;
  // The adapter's poll handle has finished closing (its memory is gone).
  virtual void AdapterClosed() = 0;
  // Dispatches every complete reply the context's reader holds (normally redisProcessCallbacks).
  // The context may be freed inside: the adapter checks before touching it again.
  virtual void ProcessReplies(redisAsyncContext* ac) = 0;
  // TLS only. The TLS handshake has completed: the owner may now send its own handshake. The
  // context may be freed inside.
  virtual void TlsEstablished(redisAsyncContext* ac) { (void)ac; }
  // TLS only. The adapter is about to disconnect the context because of a TLS failure of this
  // kind (never kUnavailable): the disconnect callback that follows reports it. `cause` is
  // OpenSSL's reason ("certificate has expired").
  virtual void LinkFailed(FailureKind kind, const std::string& cause) {
    (void)kind;
    (void)cause;
  }

 protected:
  ~UvAdapterHooks() = default;
};

// Attaches `ac` to `loop`. On success hiredis owns the adapter: it is released through the
// context's cleanup hook when hiredis frees the context. Returns false if the poll handle could not
// be created (the caller must then free the context itself).
bool AttachUvAdapter(redisAsyncContext* ac, uv_loop_t* loop, UvAdapterHooks* hooks);

// Reads and dispatches whatever replies the socket already holds, outside a poll event. A
// command's deadline timer can fire while its reply is already waiting unread: libuv up to 1.44
// runs due timers before it polls, and from 1.45 (Node 20 has 1.46) a long I/O callback delays
// the timers that run after it in the same iteration. The deadline timer calls this first. The
// caller brackets it with its own scopes; the context may be freed by it (a disconnect seen while
// reading).
void ReadPendingReplies(redisAsyncContext* ac);

// From the connect callback of a context attached with AttachUvAdapter: runs TLS on its socket
// from now on. The handshake starts when the connect callback returns; hooks->TlsEstablished
// follows its success. `host` is the endpoint's host (for SNI and the certificate check). On
// failure sets c->err, so hiredis disconnects as soon as the callback returns.
void StartTls(redisAsyncContext* ac, std::shared_ptr<const TlsContext> context,
              const std::string& host);
// Whether the context is in its TLS handshake (so a connect timeout is a TLS one).
bool InTlsHandshake(const redisAsyncContext* ac);

// Writes c->obuf to the socket now, as far as it takes it (for commands sent with flush_now).
// Never frees the context, so it is safe inside a JavaScript call: a write error is left in
// c->err with the write event armed, and the next poll event disconnects.
void FlushOutput(redisAsyncContext* ac);

}  // namespace respcache
