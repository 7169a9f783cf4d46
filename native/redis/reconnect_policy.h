// When a lost connection is retried, and when a silent Redis counts as lost. Pure: the random
// source is the caller's, so tests check the bounds without timing anything.
#pragma once
#include <algorithm>
#include <cstdint>

namespace respcache {

constexpr uint32_t kFirstBackoffMs = 100;
constexpr uint32_t kMaxBackoffMs = 2000;

// The delay before retry number `retries` (0 first): an exponential base from kFirstBackoffMs,
// capped at kMaxBackoffMs, of which half is fixed and half drawn from `rng`, so many app servers
// that lost Redis together do not reconnect in step, and none waits longer than the cap.
template <typename Rng>
uint32_t ReconnectDelayMs(uint32_t retries, Rng& rng) {
  const uint32_t base = std::min(kFirstBackoffMs << std::min<uint32_t>(retries, 5), kMaxBackoffMs);
  const uint32_t half = base / 2;
  return half + (half ? static_cast<uint32_t>(rng() % (half + 1)) : 0);
}

// How long Redis may leave a timed-out command unanswered before the connection is considered
// dead and replaced (a paused or wedged server; a slow one answers within this).
inline uint32_t StallLimitMs(uint32_t command_timeout_ms) {
  return std::max<uint32_t>(1000, command_timeout_ms * 10);
}

}  // namespace respcache
