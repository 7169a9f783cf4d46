// The time a command's deadline is counted from.
#pragma once

#include <uv.h>

#include <cstdint>

namespace respcache {

// The loop's time in ms, brought up to date first. uv_now() is the time the current turn of the
// loop began (libuv caches it once per turn): a command issued late in a long turn (JavaScript
// answering a burst of requests, a busy machine) would have that turn counted against its
// timeout and time out before Redis could answer (measured: after a 150 ms turn every command
// with a 100 ms timeout failed, Redis answering in microseconds). uv_update_time is the call
// libuv offers for callbacks that run long; it costs one coarse monotonic clock read.
inline uint64_t FreshNowMs(uv_loop_t* loop) {
  uv_update_time(loop);
  return uv_now(loop);
}

}  // namespace respcache
