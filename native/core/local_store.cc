#include "core/local_store.h"

#include <cstdint>
#include <utility>

namespace respcache {

LocalStore::LocalStore(size_t max_bytes) : max_bytes_(max_bytes) {
  head_.prev = &head_;
  head_.next = &head_;
}

LocalStore::~LocalStore() { Clear(); }

size_t LocalStore::AccountedSize(size_t key_size, size_t payload_size) {
  if (key_size > SIZE_MAX - kItemOverhead) return SIZE_MAX;
  size_t size = key_size + kItemOverhead;
  if (payload_size > SIZE_MAX - size) return SIZE_MAX;
  return size + payload_size;
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
  delete n;
}

std::shared_ptr<const std::string> LocalStore::Get(std::string_view key, uint64_t now_ms) {
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
  return n->payload;
}

bool LocalStore::Set(std::string_view key, std::shared_ptr<const std::string> payload,
                     uint64_t expires_at_ms, uint64_t now_ms) {
  auto it = index_.find(key);
  size_t size = payload ? AccountedSize(key.size(), payload->size()) : SIZE_MAX;
  if (size > max_bytes_ || now_ms >= expires_at_ms) {
    // Keeping the old value would serve bytes the caller has just replaced.
    if (it != index_.end()) Remove(it->second);
    return false;
  }
  Node* n;
  if (it != index_.end()) {
    // In place: the node, its key and the index entry that views the key stay as they are.
    n = it->second;
    bytes_ -= n->bytes;
    n->payload = std::move(payload);
    Unlink(n);
  } else {
    auto fresh = std::make_unique<Node>();
    fresh->key.assign(key);
    fresh->payload = std::move(payload);
    index_.emplace(std::string_view(fresh->key), fresh.get());  // may throw: fresh is freed
    n = fresh.release();
  }
  n->expires_at_ms = expires_at_ms;
  n->bytes = size;
  bytes_ += size;
  LinkFront(n);
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
  for (Node* n = head_.next; n != &head_;) {
    Node* next = n->next;
    delete n;
    n = next;
  }
  head_.prev = &head_;
  head_.next = &head_;
  bytes_ = 0;
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
