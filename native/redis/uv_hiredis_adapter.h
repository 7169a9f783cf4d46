// Attaches a hiredis async context to a libuv loop (Node's own). Replaces Debian hiredis 0.14's
// adapters/libuv.h, which (a) drops poll errors, so a refused connect never settles, (b) calls
// uv_poll_start after every read even when nothing changes, and (c) reads at most 16 KiB per
// wake-up through hiredis's own stack buffer.
#pragma once
#include <uv.h>

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

}  // namespace respcache
