// The in-process single-flight table behind request coalescing: while one request (the leader)
// fills a key, later requests for the same key (followers) wait for its outcome instead of running
// the handler themselves. Knows nothing of Node: the binding (single_flight_wrap.h) supplies the
// clock and the timer.
//
// Contract:
// - Keys are exact bytes; nothing is normalised here (the key builder has done that).
// - Join() never calls a waiter. Every stored waiter is called exactly once, by Complete, Fail,
//   Expire or AbortAll, and is destroyed right after.
// - A method detaches every waiter it is about to call from the table before calling the first, so
//   a waiter may call back into the table, including Join for the key it waited on (it then leads
//   a new flight). Waiters must not throw.
// - A flight lasts until its leader calls Complete or Fail (or AbortAll). Its followers do not: each
//   leaves at its own deadline through Expire, so a leader that never finishes holds nothing but the
//   flight itself.
// - Times are milliseconds on one monotonic clock of the caller's choosing, the same for Join's
//   deadlines and Expire's `now`.
// Not thread-safe: one table per event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace respcache {

class SingleFlight {
 public:
  enum class Role {
    kLeader,    // no flight was under way: the caller fills the key, then calls Complete or Fail
    kFollower,  // the waiter is stored and will be called once with the outcome
  };

  enum class OutcomeKind {
    kValue,    // the leader completed: `payload` is what it delivered
    kFailed,   // the leader gave up: the follower runs its own handler
    kTimeout,  // the follower's deadline passed first
    kAborted,  // AbortAll(): the table is being torn down
  };

  struct Outcome {
    OutcomeKind kind;
    // Shared by every follower of the flight; set only for kValue (and then as the leader gave it).
    std::shared_ptr<const std::string> payload;
  };

  using Waiter = std::function<void(const Outcome&)>;

  SingleFlight() = default;
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;
  // Destroys waiters still stored without calling them; call AbortAll first to answer them.
  ~SingleFlight() = default;

  // Starts a flight for `key` (kLeader; `waiter` is dropped unused) or joins the one under way
  // (kFollower; `waiter` must be callable and is kept until the outcome or `deadline_ms`).
  Role Join(std::string_view key, uint64_t deadline_ms, Waiter waiter);

  // Ends the flight for `key`, calling each follower's waiter in join order with kValue and
  // `payload`. Returns the number of followers served; 0 also when no flight is under way.
  size_t Complete(std::string_view key, std::shared_ptr<const std::string> payload);

  // Ends the flight for `key`, telling each follower kFailed. Returns the number told.
  size_t Fail(std::string_view key);

  // Answers kTimeout to every follower whose deadline is at or before `now_ms`, earliest deadline
  // first, and removes them. Their flights stay with their leaders. Returns the number answered.
  size_t Expire(uint64_t now_ms);

  // The earliest deadline of any waiting follower; nothing when none waits.
  std::optional<uint64_t> NextDeadline() const;

  // Answers kAborted to every follower and forgets every flight (a leader's later Complete or Fail
  // then finds none). Returns the number of followers answered.
  size_t AbortAll();

  size_t Size() const { return flights_.size(); }         // flights under way
  size_t Followers() const { return deadlines_.size(); }  // followers waiting, all keys
  size_t Waiting(std::string_view key) const;             // followers waiting on `key`
  bool InFlight(std::string_view key) const { return flights_.count(key) != 0; }

 private:
  struct Follower {
    uint64_t deadline_ms;
    Waiter waiter;
  };
  struct Flight {
    std::string key;  // the bytes the flights_ entry views
    // By join sequence number, so answers go out in join order and a timed-out follower can be
    // removed without a scan.
    std::map<uint64_t, Follower> followers;
  };
  // (deadline, join sequence, flight): entries are erased together with their follower, so the
  // flight pointer is always live and the first entry is the true next deadline.
  using DeadlineEntry = std::tuple<uint64_t, uint64_t, Flight*>;

  size_t Finish(std::string_view key, const Outcome& outcome);

  // Keys view Flight::key; a flight's address is stable for the life of its entry.
  std::unordered_map<std::string_view, std::unique_ptr<Flight>> flights_;
  std::set<DeadlineEntry> deadlines_;
  uint64_t next_seq_ = 0;
};

}  // namespace respcache
