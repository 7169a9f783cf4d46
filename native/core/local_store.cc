#include "core/local_store.h"

#include <cstdint>
#include <memory>

namespace respcache {

LocalStore::LocalStore(size_t max_bytes, ReleaseFn release, void* context)
    : max_bytes_(max_bytes), release_(release), context_(context) {
  head_.prev = &head_;
  head_.next = &head_;
}

LocalStore::~LocalStore() { Clear(); }

size_t LocalStore::AccountedSize(size_t key_size, size_t value_size) {
  if (key_size > SIZE_MAX - kItemOverhead) return SIZE_MAX;
  size_t size = key_size + kItemOverhead;
  if (value_size > SIZE_MAX - size) return SIZE_MAX;
  return size + value_size;
}

void LocalStore::LinkFront(Node* n) {
  n->prev = &head_;
  n->next = head_.next;
  head_.next->prev = n;
  head_.next = n;
}

void LocalStore::Unlink(Node* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
}

void LocalStore::Remove(Node* n) {
  Unlink(n);
  index_.erase(std::string_view(n->key));
  bytes_ -= n->bytes;
  value_bytes_ -= n->value_size;
  Value value = n->value;
  delete n;
  release_(context_, value);  // last: the store is consistent whatever the holder does
}

LocalStore::Value LocalStore::Get(std::string_view key, uint64_t now_ms) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  Node* n = it->second;
  if (now_ms >= n->expires_at_ms) {
    Remove(n);
    ++stats_.expirations;
    ++stats_.misses;
    return nullptr;
  }
  if (head_.next != n) {
    Unlink(n);
    LinkFront(n);
  }
  ++stats_.hits;
  return n->value;
}

bool LocalStore::Set(std::string_view key, Value value, size_t value_size, uint64_t expires_at_ms,
                     uint64_t now_ms) {
  auto it = index_.find(key);
  size_t size = value != nullptr ? AccountedSize(key.size(), value_size) : SIZE_MAX;
  if (size > max_bytes_ || now_ms >= expires_at_ms) {
    // Keeping the old value would serve bytes the caller has just replaced.
    if (it != index_.end()) Remove(it->second);
    if (value != nullptr) release_(context_, value);
    return false;
  }
  Node* n;
  Value replaced = nullptr;
  if (it != index_.end()) {
    // In place: the node, its key and the index entry that views the key stay as they are.
    n = it->second;
    bytes_ -= n->bytes;
    value_bytes_ -= n->value_size;
    replaced = n->value;
    Unlink(n);
  } else {
    try {
      auto fresh = std::make_unique<Node>();
      fresh->key.assign(key);
      index_.emplace(std::string_view(fresh->key), fresh.get());
      n = fresh.release();
    } catch (...) {
      release_(context_, value);  // owned whatever happens, even out of memory
      throw;
    }
  }
  n->value = value;
  n->value_size = value_size;
  n->expires_at_ms = expires_at_ms;
  n->bytes = size;
  bytes_ += size;
  value_bytes_ += value_size;
  LinkFront(n);
  if (replaced != nullptr) release_(context_, replaced);
  // The new item is at the front and alone fits, so the loop stops before it.
  while (bytes_ > max_bytes_) {
    Node* victim = head_.prev;
    if (now_ms >= victim->expires_at_ms) {
      ++stats_.expirations;
    } else {
      ++stats_.evictions;
    }
    Remove(victim);
  }
  return true;
}

bool LocalStore::Delete(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  Remove(it->second);
  return true;
}

size_t LocalStore::DeletePrefix(std::string_view prefix) {
  size_t removed = 0;
  for (Node* n = head_.next; n != &head_;) {
    Node* next = n->next;
    if (std::string_view(n->key).substr(0, prefix.size()) == prefix) {
      Remove(n);
      ++removed;
    }
    n = next;
  }
  return removed;
}

void LocalStore::Clear() {
  index_.clear();  // first: its keys view the nodes' keys
  Node* n = head_.next;
  head_.prev = &head_;
  head_.next = &head_;
  bytes_ = 0;
  value_bytes_ = 0;
  // The store is empty before the first release.
  while (n != &head_) {
    Node* next = n->next;
    Value value = n->value;
    delete n;
    release_(context_, value);
    n = next;
  }
}

size_t LocalStore::PurgeExpired(uint64_t now_ms) {
  size_t removed = 0;
  for (Node* n = head_.next; n != &head_;) {
    Node* next = n->next;
    if (now_ms >= n->expires_at_ms) {
      Remove(n);
      ++removed;
    }
    n = next;
  }
  stats_.expirations += removed;
  return removed;
}

}  // namespace respcache
