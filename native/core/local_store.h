// The in-process store (the "local tier"): a byte-bounded LRU map from a key to the encoded entry
// bytes, each with an absolute expiry. Knows nothing of Node: the binding (local_store_wrap.h)
// supplies the clock.
//
// Contract:
// - Keys are exact bytes (embedded NULs included); nothing is normalised here.
// - Payloads are immutable and shared: Get hands out another reference to the stored bytes, which
//   stays valid for as long as the caller holds it, even after the item is replaced, evicted or the
//   store destroyed.
// - The bound: after every call, Bytes() <= MaxBytes(), where Bytes() is the sum over stored items
//   of AccountedSize(key, payload). Items expired but not yet removed still count until Get,
//   PurgeExpired or eviction removes them.
// - An item is expired once `now_ms >= expires_at_ms` (a deadline equal to now has passed).
// - Times are milliseconds on one monotonic clock of the caller's choosing, the same for every
//   call.
// Not thread-safe: one store per event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace respcache {

class LocalStore {
 public:
  // What one item costs beyond its key and payload bytes: the list node (two links, the key's and
  // the shared_ptr's headers, expiry, size), the hash-table node and bucket, and the payload's
  // shared_ptr control block and string header, rounded up on a 64-bit libstdc++. It keeps a store
  // of many tiny items from using far more memory than its bound says.
  static constexpr size_t kItemOverhead = 64;

  struct Stats {
    uint64_t hits = 0;         // Get found a live item
    uint64_t misses = 0;       // Get found nothing, or an expired item
    uint64_t evictions = 0;    // live items removed to make room for a Set
    uint64_t expirations = 0;  // expired items removed (by Get, PurgeExpired or to make room)
  };

  explicit LocalStore(size_t max_bytes);
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;
  ~LocalStore();

  // The accounted size of an item: key + payload + kItemOverhead; SIZE_MAX if that overflows.
  static size_t AccountedSize(size_t key_size, size_t payload_size);

  // The payload under `key`, made the most recently used; null when absent or expired (an expired
  // item is removed and counts as a miss). O(1), allocates nothing.
  std::shared_ptr<const std::string> Get(std::string_view key, uint64_t now_ms);

  // Stores `payload` under `key` until `expires_at_ms`, replacing any value in place, as the most
  // recently used item, then evicts least recently used items until the bound holds again.
  // Returns false, and removes any old value under `key` (it was superseded), when the item cannot
  // be stored: its accounted size exceeds MaxBytes(), it has already expired at `now_ms`, or
  // `payload` is null.
  bool Set(std::string_view key, std::shared_ptr<const std::string> payload,
           uint64_t expires_at_ms, uint64_t now_ms);

  // Removes the item under `key`, expired or not. Returns whether there was one.
  bool Delete(std::string_view key);

  // Removes every item whose key starts with `prefix` (all of them for an empty prefix). O(n).
  // Returns the number removed.
  size_t DeletePrefix(std::string_view prefix);

  // Removes every item. The counters are kept.
  void Clear();

  // Removes every item expired at `now_ms`. O(n). Returns the number removed.
  size_t PurgeExpired(uint64_t now_ms);

  size_t Size() const { return index_.size(); }  // items stored, expired ones included
  size_t Bytes() const { return bytes_; }        // sum of their accounted sizes
  size_t MaxBytes() const { return max_bytes_; }
  const Stats& GetStats() const { return stats_; }

  // Calls fn(key, payload, expires_at_ms) for every item, most recently used first, without
  // changing recency. fn must not modify the store. For tests and diagnostics.
  template <typename F>
  void ForEach(F&& fn) const {
    for (const Node* n = head_.next; n != &head_; n = n->next) {
      fn(std::string_view(n->key), *n->payload, n->expires_at_ms);
    }
  }

 private:
  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
    std::string key;  // the bytes the index_ entry views; never changes while indexed
    std::shared_ptr<const std::string> payload;
    uint64_t expires_at_ms = 0;
    size_t bytes = 0;  // AccountedSize at insertion
  };

  void LinkFront(Node* n);
  static void Unlink(Node* n);
  // Unlinks, unindexes and frees `n`, and subtracts its bytes.
  void Remove(Node* n);

  size_t max_bytes_;
  size_t bytes_ = 0;
  Stats stats_;
  // A circular list through a sentinel: head_.next is the most recently used item, head_.prev the
  // least. The sentinel's key and payload stay empty.
  Node head_;
  // Keys view Node::key, so a lookup by string_view allocates nothing.
  std::unordered_map<std::string_view, Node*> index_;
};

}  // namespace respcache
