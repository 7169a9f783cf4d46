// The in-process store (the "local tier"): a byte-bounded LRU map from a key to a value, each with
// an absolute expiry. Knows nothing of Node: a value is an opaque handle with a size, which the
// store holds and hands back but never reads. The binding (local_store_wrap.h) makes each handle a
// persistent reference to a JavaScript Buffer and supplies the clock; the tests use fake handles.
//
// Contract:
// - Keys are exact bytes (embedded NULs included); nothing is normalised here.
// - Values are held, not copied: Set takes ownership of its handle, Get returns the very handle
//   stored (no copy, no allocation). The store calls `release(context, value)` exactly once for
//   every non-null handle Set was given: when the item is evicted, expires (removed by Get,
//   PurgeExpired or to make room), is deleted, replaced by a later Set of its key or dropped by
//   Clear, when Set refuses it, and for whatever is left when the store is destroyed. A handle
//   returned by Get stays owned by the store; it is valid until the next call that may remove
//   its item (the binding turns it into a JavaScript value at once).
// - The bound: after every call, Bytes() <= MaxBytes(), where Bytes() is the sum over stored items
//   of AccountedSize(key size, value size). Items expired but not yet removed still count until
//   Get, PurgeExpired or eviction removes them.
// - An item is expired once `now_ms >= expires_at_ms` (a deadline equal to now has passed).
// - Times are milliseconds on one monotonic clock of the caller's choosing, the same for every
//   call.
// Not thread-safe: one store per thread (in the addon, the JavaScript thread of one environment).
// `release` must not call back into the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace respcache {

class LocalStore {
 public:
  // What the store holds for a value; null is never a value.
  using Value = void*;
  // Lets go of one value; called exactly once per value (see the contract above).
  using ReleaseFn = void (*)(void* context, Value value) noexcept;

  // What one item costs beyond its key and value bytes, as accounted against MaxBytes(): the list
  // node, the hash-table node and bucket, and the holder's own record of the value (in the addon a
  // Node-API reference), rounded. A nominal figure, unchanged since values were copied in, so a
  // given maxBytes bounds the same number of items as before; it keeps a store of many tiny items
  // from using far more memory than its bound says.
  static constexpr size_t kItemOverhead = 64;

  struct Stats {
    uint64_t hits = 0;         // Get found a live item
    uint64_t misses = 0;       // Get found nothing, or an expired item
    uint64_t evictions = 0;    // live items removed to make room for a Set
    uint64_t expirations = 0;  // expired items removed (by Get, PurgeExpired or to make room)
  };

  // `release` (non-null) and `context` are kept for the store's lifetime.
  LocalStore(size_t max_bytes, ReleaseFn release, void* context);
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;
  // Releases every value still stored.
  ~LocalStore();

  // The accounted size of an item: key + value + kItemOverhead; SIZE_MAX if that overflows.
  static size_t AccountedSize(size_t key_size, size_t value_size);

  // The value under `key`, made the most recently used; null when absent or expired (an expired
  // item is removed, its value released, and counts as a miss). O(1), allocates nothing.
  Value Get(std::string_view key, uint64_t now_ms);

  // Stores `value` (of `value_size` accounted bytes) under `key` until `expires_at_ms`, replacing
  // and releasing any value under `key`, as the most recently used item, then evicts least
  // recently used items until the bound holds again. Takes ownership of `value` whatever happens.
  // Returns false, releases `value` and removes any old value under `key` (it was superseded),
  // when the item cannot be stored: its accounted size exceeds MaxBytes(), it has already expired
  // at `now_ms`, or `value` is null.
  bool Set(std::string_view key, Value value, size_t value_size, uint64_t expires_at_ms,
           uint64_t now_ms);

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
  size_t ValueBytes() const { return value_bytes_; }  // sum of their value sizes alone
  size_t MaxBytes() const { return max_bytes_; }
  const Stats& GetStats() const { return stats_; }

  // Calls fn(key, value, value_size, expires_at_ms) for every item, most recently used first,
  // without changing recency. fn must not modify the store. For tests and diagnostics.
  template <typename F>
  void ForEach(F&& fn) const {
    for (const Node* n = head_.next; n != &head_; n = n->next) {
      fn(std::string_view(n->key), n->value, n->value_size, n->expires_at_ms);
    }
  }

 private:
  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
    std::string key;  // the bytes the index_ entry views; never changes while indexed
    Value value = nullptr;
    size_t value_size = 0;
    uint64_t expires_at_ms = 0;
    size_t bytes = 0;  // AccountedSize at insertion
  };

  void LinkFront(Node* n);
  static void Unlink(Node* n);
  // Unlinks, unindexes and frees `n`, subtracts its bytes and releases its value.
  void Remove(Node* n);

  size_t max_bytes_;
  ReleaseFn release_;
  void* context_;
  size_t bytes_ = 0;
  size_t value_bytes_ = 0;
  Stats stats_;
  // A circular list through a sentinel: head_.next is the most recently used item, head_.prev the
  // least. The sentinel's key and value stay empty.
  Node head_;
  // Keys view Node::key, so a lookup by string_view allocates nothing.
  std::unordered_map<std::string_view, Node*> index_;
};

}  // namespace respcache
