#include "redis/reconnect_policy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

namespace respcache {
namespace {

// A generator that always returns `value`: pins the random half to its extremes.
struct FixedRng {
  uint32_t value;
  uint32_t operator()() { return value; }
};

TEST(ReconnectDelayMs, DoublesFromHalfOfTheFirstBackoffUpToTheCap) {
  const uint32_t lows[] = {50, 100, 200, 400, 800, 1000, 1000, 1000};
  for (uint32_t retries = 0; retries < 8; ++retries) {
    FixedRng zero{0};
    EXPECT_EQ(ReconnectDelayMs(retries, zero), lows[retries]) << "retry " << retries;
  }
}

TEST(ReconnectDelayMs, NeverExceedsTheBaseForTheRetry) {
  const uint32_t highs[] = {100, 200, 400, 800, 1600, 2000, 2000};
  for (uint32_t retries = 0; retries < 7; ++retries) {
    FixedRng at_top{highs[retries] / 2};  // rng() % (half + 1) == half
    EXPECT_EQ(ReconnectDelayMs(retries, at_top), highs[retries]) << "retry " << retries;
  }
}

TEST(ReconnectDelayMs, StaysWithinTheCapForAnyDraw) {
  std::mt19937 rng(42);
  for (uint32_t retries : {0u, 3u, 5u, 40u, std::numeric_limits<uint32_t>::max()}) {
    for (int i = 0; i < 1000; ++i) {
      const uint32_t d = ReconnectDelayMs(retries, rng);
      EXPECT_GE(d, 50u);
      EXPECT_LE(d, kMaxBackoffMs);
    }
  }
}

TEST(StallLimitMs, IsTenCommandTimeoutsButAtLeastOneSecond) {
  EXPECT_EQ(StallLimitMs(1), 1000u);
  EXPECT_EQ(StallLimitMs(100), 1000u);
  EXPECT_EQ(StallLimitMs(250), 2500u);
}

}  // namespace
}  // namespace respcache
