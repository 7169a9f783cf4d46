#include "core/single_flight.h"

#include <utility>
#include <vector>

namespace respcache {

namespace {

// Calls each detached waiter once. The table is already consistent when the first one runs.
void Deliver(std::vector<SingleFlight::Waiter>& waiters, const SingleFlight::Outcome& outcome) {
  for (auto& w : waiters) w(outcome);
}

}  // namespace

SingleFlight::Role SingleFlight::Join(std::string_view key, uint64_t deadline_ms, Waiter waiter) {
  auto it = flights_.find(key);
  if (it == flights_.end()) {
    auto flight = std::make_unique<Flight>();
    flight->key.assign(key);
    std::string_view stored = flight->key;
    flights_.emplace(stored, std::move(flight));
    return Role::kLeader;
  }
  Flight* flight = it->second.get();
  uint64_t seq = next_seq_++;
  // Deadlines mostly arrive in increasing order (one timeout per route), so the end is the hint.
  auto at = deadlines_.emplace_hint(deadlines_.end(), deadline_ms, seq, flight);
  try {
    flight->followers.emplace_hint(flight->followers.end(), seq,
                                   Follower{deadline_ms, std::move(waiter)});
  } catch (...) {
    deadlines_.erase(at);
    throw;
  }
  return Role::kFollower;
}

size_t SingleFlight::Finish(std::string_view key, const Outcome& outcome) {
  auto it = flights_.find(key);
  if (it == flights_.end()) return 0;
  std::unique_ptr<Flight> flight = std::move(it->second);
  flights_.erase(it);
  std::vector<Waiter> waiters;
  waiters.reserve(flight->followers.size());
  for (auto& [seq, follower] : flight->followers) {
    deadlines_.erase(DeadlineEntry{follower.deadline_ms, seq, flight.get()});
    waiters.push_back(std::move(follower.waiter));
  }
  flight->followers.clear();
  Deliver(waiters, outcome);
  return waiters.size();
}

size_t SingleFlight::Complete(std::string_view key, std::shared_ptr<const std::string> payload) {
  return Finish(key, Outcome{OutcomeKind::kValue, std::move(payload)});
}

size_t SingleFlight::Fail(std::string_view key) {
  return Finish(key, Outcome{OutcomeKind::kFailed, nullptr});
}

size_t SingleFlight::Expire(uint64_t now_ms) {
  std::vector<Waiter> waiters;
  while (!deadlines_.empty()) {
    auto first = deadlines_.begin();
    auto [deadline_ms, seq, flight] = *first;
    if (deadline_ms > now_ms) break;
    auto f = flight->followers.find(seq);
    waiters.push_back(std::move(f->second.waiter));
    flight->followers.erase(f);
    deadlines_.erase(first);
  }
  Deliver(waiters, Outcome{OutcomeKind::kTimeout, nullptr});
  return waiters.size();
}

std::optional<uint64_t> SingleFlight::NextDeadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return std::get<0>(*deadlines_.begin());
}

size_t SingleFlight::AbortAll() {
  std::vector<Waiter> waiters;
  waiters.reserve(deadlines_.size());
  for (auto& [key, flight] : flights_) {
    for (auto& [seq, follower] : flight->followers) waiters.push_back(std::move(follower.waiter));
  }
  deadlines_.clear();
  flights_.clear();
  Deliver(waiters, Outcome{OutcomeKind::kAborted, nullptr});
  return waiters.size();
}

size_t SingleFlight::Waiting(std::string_view key) const {
  auto it = flights_.find(key);
  return it == flights_.end() ? 0 : it->second->followers.size();
}

}  // namespace respcache
