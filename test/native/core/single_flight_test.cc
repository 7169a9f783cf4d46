#include "core/single_flight.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace respcache {
namespace {

using Kind = SingleFlight::OutcomeKind;
using Role = SingleFlight::Role;

// Records every outcome a follower receives, so tests can assert "exactly once".
struct Recorder {
  std::vector<SingleFlight::Outcome> outcomes;
  SingleFlight::Waiter Waiter() {
    return [this](const SingleFlight::Outcome& o) { outcomes.push_back(o); };
  }
};

std::shared_ptr<const std::string> Payload(const char* s) {
  return std::make_shared<const std::string>(s);
}

TEST(SingleFlight, FirstJoinerLeadsAndLaterJoinersFollow) {
  SingleFlight sf;
  Recorder a, b, c;
  EXPECT_EQ(sf.Join("k", 100, a.Waiter()), Role::kLeader);
  EXPECT_EQ(sf.Join("k", 100, b.Waiter()), Role::kFollower);
  EXPECT_EQ(sf.Join("k", 100, c.Waiter()), Role::kFollower);
  EXPECT_EQ(sf.Size(), 1u);
  EXPECT_EQ(sf.Waiting("k"), 2u);
  EXPECT_EQ(sf.Followers(), 2u);
  EXPECT_TRUE(sf.InFlight("k"));
  // Joining calls no one, and the leader's waiter is never stored.
  EXPECT_TRUE(a.outcomes.empty());
  EXPECT_TRUE(b.outcomes.empty());
}

TEST(SingleFlight, CompleteGivesEveryFollowerTheSamePayloadOnceAndEndsTheFlight) {
  SingleFlight sf;
  Recorder leader, f1, f2;
  ASSERT_EQ(sf.Join("k", 100, leader.Waiter()), Role::kLeader);
  sf.Join("k", 100, f1.Waiter());
  sf.Join("k", 100, f2.Waiter());
  auto payload = Payload("body");
  EXPECT_EQ(sf.Complete("k", payload), 2u);
  for (Recorder* r : {&f1, &f2}) {
    ASSERT_EQ(r->outcomes.size(), 1u);
    EXPECT_EQ(r->outcomes[0].kind, Kind::kValue);
    EXPECT_EQ(r->outcomes[0].payload.get(), payload.get());  // shared, not copied
  }
  EXPECT_TRUE(leader.outcomes.empty());
  EXPECT_EQ(sf.Size(), 0u);
  EXPECT_EQ(sf.Followers(), 0u);
  EXPECT_FALSE(sf.NextDeadline().has_value());
  // Nothing left to answer: a second Complete, a Fail or an Expire reach no one.
  EXPECT_EQ(sf.Complete("k", payload), 0u);
  EXPECT_EQ(sf.Fail("k"), 0u);
  EXPECT_EQ(sf.Expire(1000), 0u);
  EXPECT_EQ(f1.outcomes.size(), 1u);
  // The next request for the key starts a new flight.
  EXPECT_EQ(sf.Join("k", 200, f1.Waiter()), Role::kLeader);
}

TEST(SingleFlight, CompleteWithoutFollowersEndsTheFlight) {
  SingleFlight sf;
  ASSERT_EQ(sf.Join("k", 100, nullptr), Role::kLeader);
  EXPECT_EQ(sf.Complete("k", Payload("x")), 0u);
  EXPECT_EQ(sf.Size(), 0u);
}

TEST(SingleFlight, FollowersAreAnsweredInJoinOrder) {
  SingleFlight sf;
  std::vector<int> order;
  sf.Join("k", 0, nullptr);
  // Deadlines out of order: completion still follows the order of joining.
  for (int i = 0; i < 5; ++i) {
    sf.Join("k", 100 - i, [&order, i](const SingleFlight::Outcome&) { order.push_back(i); });
  }
  sf.Complete("k", nullptr);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(SingleFlight, FailTellsEveryFollowerToRunItsOwnHandler) {
  SingleFlight sf;
  Recorder f1, f2;
  sf.Join("k", 100, nullptr);
  sf.Join("k", 100, f1.Waiter());
  sf.Join("k", 150, f2.Waiter());
  EXPECT_EQ(sf.Fail("k"), 2u);
  for (Recorder* r : {&f1, &f2}) {
    ASSERT_EQ(r->outcomes.size(), 1u);
    EXPECT_EQ(r->outcomes[0].kind, Kind::kFailed);
    EXPECT_EQ(r->outcomes[0].payload, nullptr);
  }
  EXPECT_EQ(sf.Size(), 0u);
  EXPECT_FALSE(sf.NextDeadline().has_value());
}

TEST(SingleFlight, ExpireAnswersOnlyFollowersWhoseDeadlineHasPassed) {
  SingleFlight sf;
  Recorder early, mid, late;
  sf.Join("k", 0, nullptr);
  sf.Join("k", 300, late.Waiter());
  sf.Join("k", 100, early.Waiter());
  sf.Join("k", 200, mid.Waiter());
  ASSERT_EQ(sf.NextDeadline(), 100u);

  EXPECT_EQ(sf.Expire(99), 0u);
  EXPECT_TRUE(early.outcomes.empty());

  EXPECT_EQ(sf.Expire(100), 1u);  // a deadline equal to now has passed
  ASSERT_EQ(early.outcomes.size(), 1u);
  EXPECT_EQ(early.outcomes[0].kind, Kind::kTimeout);
  EXPECT_TRUE(mid.outcomes.empty());
  EXPECT_EQ(sf.NextDeadline(), 200u);
  EXPECT_EQ(sf.Waiting("k"), 2u);

  // The flight stays with its leader; the others still get the value.
  auto payload = Payload("v");
  EXPECT_EQ(sf.Complete("k", payload), 2u);
  EXPECT_EQ(early.outcomes.size(), 1u);
  ASSERT_EQ(mid.outcomes.size(), 1u);
  EXPECT_EQ(mid.outcomes[0].kind, Kind::kValue);
  ASSERT_EQ(late.outcomes.size(), 1u);
  EXPECT_EQ(late.outcomes[0].kind, Kind::kValue);
}

TEST(SingleFlight, ALeaderThatNeverFinishesKeepsNoFollowerPastItsDeadline) {
  SingleFlight sf;
  Recorder f1, f2;
  sf.Join("k", 0, nullptr);
  sf.Join("k", 10, f1.Waiter());
  sf.Join("k", 20, f2.Waiter());
  EXPECT_EQ(sf.Expire(25), 2u);
  EXPECT_EQ(f1.outcomes.size(), 1u);
  EXPECT_EQ(f2.outcomes.size(), 1u);
  EXPECT_EQ(sf.Followers(), 0u);
  EXPECT_EQ(sf.Waiting("k"), 0u);
  EXPECT_FALSE(sf.NextDeadline().has_value());
  // The flight itself is still the leader's: newcomers follow it.
  EXPECT_EQ(sf.Size(), 1u);
  EXPECT_EQ(sf.Join("k", 50, f1.Waiter()), Role::kFollower);
  EXPECT_EQ(sf.NextDeadline(), 50u);
}

TEST(SingleFlight, NextDeadlineIsTheEarliestAcrossKeys) {
  SingleFlight sf;
  EXPECT_FALSE(sf.NextDeadline().has_value());
  sf.Join("a", 0, nullptr);
  sf.Join("b", 0, nullptr);
  // A leader's deadline is not a follower's: it sets nothing.
  EXPECT_FALSE(sf.NextDeadline().has_value());
  Recorder r;
  sf.Join("a", 500, r.Waiter());
  sf.Join("b", 70, r.Waiter());
  sf.Join("a", 90, r.Waiter());
  EXPECT_EQ(sf.NextDeadline(), 70u);
  sf.Fail("b");
  EXPECT_EQ(sf.NextDeadline(), 90u);
  sf.Expire(90);
  EXPECT_EQ(sf.NextDeadline(), 500u);
}

TEST(SingleFlight, KeysAreIsolatedByTheirExactBytes) {
  SingleFlight sf;
  Recorder a, b, c;
  const std::string with_nul("k\0x", 3);
  EXPECT_EQ(sf.Join("k", 0, nullptr), Role::kLeader);
  EXPECT_EQ(sf.Join("K", 0, nullptr), Role::kLeader);
  EXPECT_EQ(sf.Join(with_nul, 0, nullptr), Role::kLeader);
  EXPECT_EQ(sf.Join("k ", 0, nullptr), Role::kLeader);
  EXPECT_EQ(sf.Size(), 4u);
  sf.Join("k", 100, a.Waiter());
  sf.Join("K", 100, b.Waiter());
  sf.Join(with_nul, 100, c.Waiter());
  EXPECT_EQ(sf.Complete("k", Payload("only k")), 1u);
  ASSERT_EQ(a.outcomes.size(), 1u);
  EXPECT_EQ(*a.outcomes[0].payload, "only k");
  EXPECT_TRUE(b.outcomes.empty());
  EXPECT_TRUE(c.outcomes.empty());
  EXPECT_EQ(sf.Size(), 3u);
  EXPECT_EQ(sf.Waiting("K"), 1u);
  EXPECT_EQ(sf.Waiting(with_nul), 1u);
  EXPECT_EQ(sf.Waiting("k"), 0u);
  EXPECT_FALSE(sf.InFlight("k"));
}

TEST(SingleFlight, AWaiterMayJoinTheSameKeyAndLeadANewFlight) {
  SingleFlight sf;
  std::vector<Role> roles;
  Recorder later;
  sf.Join("k", 0, nullptr);
  for (int i = 0; i < 3; ++i) {
    sf.Join("k", 100, [&](const SingleFlight::Outcome& o) {
      EXPECT_EQ(o.kind, Kind::kFailed);
      // Each follower runs its own handler: the first becomes the new leader, the others follow it.
      roles.push_back(sf.Join("k", 200, later.Waiter()));
    });
  }
  EXPECT_EQ(sf.Fail("k"), 3u);
  EXPECT_EQ(roles, (std::vector<Role>{Role::kLeader, Role::kFollower, Role::kFollower}));
  EXPECT_EQ(sf.Size(), 1u);
  EXPECT_EQ(sf.Waiting("k"), 2u);
  EXPECT_EQ(sf.NextDeadline(), 200u);
  EXPECT_EQ(sf.Complete("k", Payload("second")), 2u);
  EXPECT_EQ(later.outcomes.size(), 2u);
}

TEST(SingleFlight, AWaiterMayCallBackIntoTheTableDuringExpireAndAbort) {
  SingleFlight sf;
  Recorder other;
  sf.Join("a", 0, nullptr);
  sf.Join("b", 0, nullptr);
  sf.Join("b", 100, other.Waiter());
  // A timed-out follower of "a" completes "b" and rejoins "a" from inside its callback.
  sf.Join("a", 10, [&](const SingleFlight::Outcome& o) {
    EXPECT_EQ(o.kind, Kind::kTimeout);
    EXPECT_EQ(sf.Complete("b", Payload("b")), 1u);
    EXPECT_EQ(sf.Join("a", 20, other.Waiter()), Role::kFollower);
  });
  sf.Join("a", 10, other.Waiter());
  EXPECT_EQ(sf.Expire(10), 2u);
  EXPECT_EQ(other.outcomes.size(), 2u);  // b's value, then the second timeout
  EXPECT_EQ(sf.NextDeadline(), 20u);

  // An aborted waiter that joins again finds an empty table and leads.
  Role rejoined = Role::kFollower;
  sf.Join("a", 30, [&](const SingleFlight::Outcome& o) {
    EXPECT_EQ(o.kind, Kind::kAborted);
    rejoined = sf.Join("a", 40, nullptr);
  });
  EXPECT_EQ(sf.AbortAll(), 2u);
  EXPECT_EQ(rejoined, Role::kLeader);
  EXPECT_EQ(sf.Size(), 1u);
}

TEST(SingleFlight, AbortAllAnswersEveryFollowerAndForgetsEveryFlight) {
  SingleFlight sf;
  Recorder a, b;
  sf.Join("a", 0, nullptr);
  sf.Join("b", 0, nullptr);
  sf.Join("c", 0, nullptr);
  sf.Join("a", 100, a.Waiter());
  sf.Join("a", 200, a.Waiter());
  sf.Join("b", 300, b.Waiter());
  EXPECT_EQ(sf.AbortAll(), 3u);
  ASSERT_EQ(a.outcomes.size(), 2u);
  EXPECT_EQ(a.outcomes[0].kind, Kind::kAborted);
  EXPECT_EQ(a.outcomes[1].kind, Kind::kAborted);
  ASSERT_EQ(b.outcomes.size(), 1u);
  EXPECT_EQ(b.outcomes[0].kind, Kind::kAborted);
  EXPECT_EQ(sf.Size(), 0u);
  EXPECT_EQ(sf.Followers(), 0u);
  EXPECT_FALSE(sf.NextDeadline().has_value());
  // The leaders' late answers reach no one.
  EXPECT_EQ(sf.Complete("a", Payload("late")), 0u);
  EXPECT_EQ(sf.Fail("b"), 0u);
  EXPECT_EQ(a.outcomes.size(), 2u);
}

TEST(SingleFlight, WaitersAreReleasedOnceAnswered) {
  SingleFlight sf;
  auto token = std::make_shared<int>(0);
  sf.Join("k", 0, nullptr);
  sf.Join("k", 10, [token](const SingleFlight::Outcome&) {});
  sf.Join("k", 99, [token](const SingleFlight::Outcome&) {});
  EXPECT_EQ(token.use_count(), 3);
  sf.Expire(10);
  EXPECT_EQ(token.use_count(), 2);
  sf.Complete("k", nullptr);
  EXPECT_EQ(token.use_count(), 1);
  // A leader's waiter is dropped at once.
  sf.Join("k", 0, [token](const SingleFlight::Outcome&) {});
  EXPECT_EQ(token.use_count(), 1);
}

TEST(SingleFlight, ManyFollowersAreServedQuickly) {
  constexpr int kFollowers = 10000;
  SingleFlight sf;
  auto payload = Payload("shared body");
  size_t served = 0;
  size_t timed_out = 0;
  auto start = std::chrono::steady_clock::now();
  sf.Join("k", 0, nullptr);
  for (int i = 0; i < kFollowers; ++i) {
    sf.Join("k", 1000 + static_cast<uint64_t>(i), [&](const SingleFlight::Outcome& o) {
      if (o.kind == Kind::kTimeout) {
        ++timed_out;
      } else if (o.kind == Kind::kValue && o.payload == payload) {
        ++served;
      }
    });
  }
  EXPECT_EQ(sf.Waiting("k"), static_cast<size_t>(kFollowers));
  EXPECT_EQ(sf.Expire(1000 + kFollowers / 2 - 1), static_cast<size_t>(kFollowers / 2));
  EXPECT_EQ(sf.Complete("k", payload), static_cast<size_t>(kFollowers / 2));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(served, static_cast<size_t>(kFollowers / 2));
  EXPECT_EQ(timed_out, static_cast<size_t>(kFollowers / 2));
  EXPECT_EQ(sf.Followers(), 0u);
  // Generous even for a sanitizer build: a quadratic table would take seconds here.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 1000);
}

}  // namespace
}  // namespace respcache
