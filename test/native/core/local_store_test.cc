#include "core/local_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <list>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace respcache {
namespace {

constexpr size_t kOverhead = LocalStore::kItemOverhead;

std::shared_ptr<const std::string> Payload(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// Keys from most to least recently used.
std::vector<std::string> Order(const LocalStore& store) {
  std::vector<std::string> keys;
  store.ForEach([&](std::string_view key, const std::string&, uint64_t) { keys.emplace_back(key); });
  return keys;
}

size_t SumOfAccountedSizes(const LocalStore& store) {
  size_t sum = 0;
  store.ForEach([&](std::string_view key, const std::string& payload, uint64_t) {
    sum += LocalStore::AccountedSize(key.size(), payload.size());
  });
  return sum;
}

std::string Value(const std::shared_ptr<const std::string>& p) { return p ? *p : "<null>"; }

TEST(LocalStore, AccountsKeyPayloadAndAFixedOverheadPerItem) {
  LocalStore store(1000);
  EXPECT_EQ(LocalStore::AccountedSize(3, 10), 13 + kOverhead);
  ASSERT_TRUE(store.Set("key", Payload("0123456789"), 100, 0));
  EXPECT_EQ(store.Size(), 1u);
  EXPECT_EQ(store.Bytes(), 13 + kOverhead);
  EXPECT_EQ(store.MaxBytes(), 1000u);
  EXPECT_EQ(LocalStore::AccountedSize(SIZE_MAX - 10, 5), SIZE_MAX);
  EXPECT_EQ(LocalStore::AccountedSize(5, SIZE_MAX - kOverhead), SIZE_MAX);
}

TEST(LocalStore, GetReturnsTheStoredBytesSharedNotCopied) {
  LocalStore store(1000);
  auto payload = Payload(std::string("\x00\xff\x01 body", 8));
  ASSERT_TRUE(store.Set("k", payload, 100, 0));
  auto got = store.Get("k", 50);
  EXPECT_EQ(got.get(), payload.get());
  EXPECT_EQ(store.Get("missing", 50), nullptr);
  EXPECT_EQ(store.GetStats().hits, 1u);
  EXPECT_EQ(store.GetStats().misses, 1u);
}

TEST(LocalStore, EvictsTheLeastRecentlyUsedAndGetRefreshesRecency) {
  // Room for exactly three items of one key byte and ten payload bytes.
  const size_t item = LocalStore::AccountedSize(1, 10);
  LocalStore store(3 * item);
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(store.Set(k, Payload("0123456789"), 1000, 0));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_NE(store.Get("a", 1), nullptr);  // a is now the most recent; b the least
  EXPECT_EQ(Order(store), (std::vector<std::string>{"a", "c", "b"}));

  ASSERT_TRUE(store.Set("d", Payload("0123456789"), 1000, 2));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"d", "a", "c"}));
  EXPECT_EQ(store.Get("b", 3), nullptr);
  EXPECT_EQ(store.GetStats().evictions, 1u);
  EXPECT_EQ(store.GetStats().expirations, 0u);

  // A bigger item makes room by evicting as many as it needs, oldest first.
  ASSERT_TRUE(store.Set("e", Payload(std::string(10 + item, 'x')), 1000, 4));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"e", "d"}));
  EXPECT_EQ(store.GetStats().evictions, 3u);
  EXPECT_EQ(store.Bytes(), SumOfAccountedSizes(store));
  EXPECT_LE(store.Bytes(), store.MaxBytes());
}

TEST(LocalStore, ReplacingAKeyUpdatesItInPlace) {
  LocalStore store(10000);
  ASSERT_TRUE(store.Set("k", Payload("short"), 100, 0));
  ASSERT_TRUE(store.Set("other", Payload("x"), 100, 0));
  ASSERT_TRUE(store.Set("k", Payload("a much longer value"), 200, 10));
  EXPECT_EQ(store.Size(), 2u);
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(1, 19) + LocalStore::AccountedSize(5, 1));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"k", "other"}));  // and made the most recent
  // The new expiry replaced the old one.
  EXPECT_EQ(Value(store.Get("k", 150)), "a much longer value");

  ASSERT_TRUE(store.Set("k", Payload(""), 200, 20));
  EXPECT_EQ(store.Size(), 2u);
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(1, 0) + LocalStore::AccountedSize(5, 1));
  EXPECT_EQ(Value(store.Get("k", 30)), "");
  EXPECT_EQ(store.GetStats().evictions, 0u);
}

TEST(LocalStore, AReplacementThatGrowsEvictsOthersButNeverItself) {
  const size_t item = LocalStore::AccountedSize(1, 10);
  LocalStore store(3 * item);
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(store.Set(k, Payload("0123456789"), 1000, 0));
  // "a" is the least recently used, and it is the one growing to fill the whole store.
  ASSERT_TRUE(store.Set("a", Payload(std::string(10 + 2 * item, 'x')), 1000, 1));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"a"}));
  EXPECT_EQ(store.Bytes(), store.MaxBytes());
  EXPECT_EQ(store.GetStats().evictions, 2u);
}

TEST(LocalStore, RefusesAnItemLargerThanTheStoreAndDropsTheOldValue) {
  const size_t max = 200;
  LocalStore store(max);
  ASSERT_TRUE(store.Set("k", Payload("old"), 100, 0));
  ASSERT_TRUE(store.Set("keep", Payload("v"), 100, 0));
  EXPECT_FALSE(store.Set("k", Payload(std::string(max - kOverhead, 'x')), 100, 0));  // 1 byte over
  EXPECT_EQ(store.Get("k", 1), nullptr);
  EXPECT_EQ(Value(store.Get("keep", 1)), "v");
  EXPECT_EQ(store.Size(), 1u);
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(4, 1));
  EXPECT_EQ(store.GetStats().evictions, 0u);
  // Exactly the bound fits, evicting the rest.
  EXPECT_TRUE(store.Set("k", Payload(std::string(max - kOverhead - 1, 'x')), 100, 0));
  EXPECT_EQ(store.Bytes(), max);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"k"}));
}

TEST(LocalStore, AStoreOfZeroBytesStoresNothing) {
  LocalStore store(0);
  EXPECT_FALSE(store.Set("", Payload(""), 100, 0));
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
}

TEST(LocalStore, RefusesAnItemThatHasAlreadyExpiredOrANullPayload) {
  LocalStore store(1000);
  ASSERT_TRUE(store.Set("k", Payload("old"), 100, 0));
  EXPECT_FALSE(store.Set("k", Payload("new"), 50, 50));  // expires at now: already gone
  EXPECT_EQ(store.Size(), 0u);
  ASSERT_TRUE(store.Set("k", Payload("old"), 100, 0));
  EXPECT_FALSE(store.Set("k", nullptr, 100, 0));
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
}

TEST(LocalStore, GetRemovesAnExpiredItemAndCountsAMiss) {
  LocalStore store(1000);
  ASSERT_TRUE(store.Set("k", Payload("v"), 100, 0));
  EXPECT_EQ(Value(store.Get("k", 99)), "v");
  EXPECT_EQ(store.Get("k", 100), nullptr);  // an expiry equal to now has passed
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
  const auto& s = store.GetStats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.expirations, 1u);
  // Already gone: a second Get is a plain miss.
  EXPECT_EQ(store.Get("k", 101), nullptr);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.expirations, 1u);
}

TEST(LocalStore, PurgeExpiredRemovesOnlyExpiredItems) {
  LocalStore store(10000);
  ASSERT_TRUE(store.Set("a", Payload("1"), 10, 0));
  ASSERT_TRUE(store.Set("b", Payload("2"), 20, 0));
  ASSERT_TRUE(store.Set("c", Payload("3"), 30, 0));
  ASSERT_TRUE(store.Set("d", Payload("4"), 20, 0));
  EXPECT_EQ(store.PurgeExpired(9), 0u);
  EXPECT_EQ(store.PurgeExpired(20), 3u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"c"}));
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(1, 1));
  EXPECT_EQ(store.GetStats().expirations, 3u);
  EXPECT_EQ(store.GetStats().misses, 0u);  // purging is not a lookup
}

TEST(LocalStore, MakingRoomCountsAnExpiredVictimAsAnExpirationNotAnEviction) {
  const size_t item = LocalStore::AccountedSize(1, 1);
  LocalStore store(2 * item);
  ASSERT_TRUE(store.Set("a", Payload("1"), 10, 0));
  ASSERT_TRUE(store.Set("b", Payload("2"), 1000, 0));
  ASSERT_TRUE(store.Set("c", Payload("3"), 1000, 50));  // "a" expired at 10
  ASSERT_TRUE(store.Set("d", Payload("4"), 1000, 60));  // "b" is live
  EXPECT_EQ(store.GetStats().expirations, 1u);
  EXPECT_EQ(store.GetStats().evictions, 1u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"d", "c"}));
}

TEST(LocalStore, DeleteAndDeletePrefix) {
  LocalStore store(10000);
  for (const char* k : {"user:1", "user:2", "user:10", "users", "product:1", "use"}) {
    ASSERT_TRUE(store.Set(k, Payload(k), 100, 0));
  }
  EXPECT_TRUE(store.Delete("users"));
  EXPECT_FALSE(store.Delete("users"));
  EXPECT_EQ(store.DeletePrefix("user:"), 3u);
  EXPECT_EQ(store.DeletePrefix("user:"), 0u);
  EXPECT_EQ(store.DeletePrefix("nothing"), 0u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"use", "product:1"}));
  EXPECT_EQ(store.Bytes(), SumOfAccountedSizes(store));
  // A prefix longer than a key does not match it; the empty prefix matches every key.
  EXPECT_EQ(store.DeletePrefix("used"), 0u);
  EXPECT_EQ(store.DeletePrefix(""), 2u);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
  // Deleting is neither an eviction nor an expiration.
  EXPECT_EQ(store.GetStats().evictions, 0u);
  EXPECT_EQ(store.GetStats().expirations, 0u);
}

TEST(LocalStore, ClearEmptiesTheStoreAndKeepsTheCounters) {
  LocalStore store(10000);
  ASSERT_TRUE(store.Set("a", Payload("1"), 100, 0));
  ASSERT_TRUE(store.Set("b", Payload("2"), 100, 0));
  store.Get("a", 1);
  store.Clear();
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
  EXPECT_EQ(store.Get("a", 1), nullptr);
  EXPECT_EQ(store.GetStats().hits, 1u);
  EXPECT_EQ(store.GetStats().misses, 1u);
  ASSERT_TRUE(store.Set("c", Payload("3"), 100, 0));  // usable again
  EXPECT_EQ(Order(store), (std::vector<std::string>{"c"}));
}

TEST(LocalStore, KeysAreIsolatedByTheirExactBytesEmbeddedNulsIncluded) {
  LocalStore store(10000);
  const std::string nul_a("k\0a", 3);
  const std::string nul_b("k\0b", 3);
  const std::string just_k("k");
  const std::string trailing_nul("k\0", 2);
  ASSERT_TRUE(store.Set(nul_a, Payload("A"), 100, 0));
  ASSERT_TRUE(store.Set(nul_b, Payload("B"), 100, 0));
  ASSERT_TRUE(store.Set(just_k, Payload("K"), 100, 0));
  ASSERT_TRUE(store.Set(trailing_nul, Payload("T"), 100, 0));
  EXPECT_EQ(store.Size(), 4u);
  EXPECT_EQ(Value(store.Get(nul_a, 1)), "A");
  EXPECT_EQ(Value(store.Get(nul_b, 1)), "B");
  EXPECT_EQ(Value(store.Get(just_k, 1)), "K");
  EXPECT_EQ(Value(store.Get(trailing_nul, 1)), "T");
  EXPECT_EQ(store.Get("K", 1), nullptr);
  EXPECT_EQ(store.Bytes(), SumOfAccountedSizes(store));
  // The prefix "k\0" covers three of them, not "k" itself.
  EXPECT_EQ(store.DeletePrefix(std::string_view("k\0", 2)), 3u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{just_k}));
}

TEST(LocalStore, AHeldPayloadOutlivesEvictionReplacementAndTheStore) {
  std::shared_ptr<const std::string> held;
  {
    LocalStore store(LocalStore::AccountedSize(1, 5));
    ASSERT_TRUE(store.Set("a", Payload("first"), 100, 0));
    held = store.Get("a", 1);
    ASSERT_TRUE(store.Set("a", Payload("again"), 100, 2));
    ASSERT_TRUE(store.Set("b", Payload("other"), 100, 3));  // evicts "a"
    EXPECT_EQ(store.Size(), 1u);
    EXPECT_EQ(held.use_count(), 1);
  }
  EXPECT_EQ(*held, "first");
}

// A straightforward LRU over a list, to check every decision the store makes against.
class ModelStore {
 public:
  explicit ModelStore(size_t max) : max_(max) {}

  std::shared_ptr<const std::string> Get(const std::string& key, uint64_t now) {
    auto it = Find(key);
    if (it == items_.end()) {
      ++stats.misses;
      return nullptr;
    }
    if (now >= it->expires) {
      items_.erase(it);
      ++stats.expirations;
      ++stats.misses;
      return nullptr;
    }
    items_.splice(items_.begin(), items_, it);
    ++stats.hits;
    return it->payload;
  }

  bool Set(const std::string& key, std::shared_ptr<const std::string> payload, uint64_t expires,
           uint64_t now) {
    auto it = Find(key);
    if (it != items_.end()) items_.erase(it);
    size_t size = key.size() + payload->size() + kOverhead;
    if (size > max_ || now >= expires) return false;
    items_.push_front(Item{key, std::move(payload), expires, size});
    while (Bytes() > max_) {
      if (now >= items_.back().expires) {
        ++stats.expirations;
      } else {
        ++stats.evictions;
      }
      items_.pop_back();
    }
    return true;
  }

  bool Delete(const std::string& key) {
    auto it = Find(key);
    if (it == items_.end()) return false;
    items_.erase(it);
    return true;
  }

  size_t DeletePrefix(const std::string& prefix) {
    size_t before = items_.size();
    items_.remove_if([&](const Item& i) { return i.key.compare(0, prefix.size(), prefix) == 0; });
    return before - items_.size();
  }

  size_t PurgeExpired(uint64_t now) {
    size_t before = items_.size();
    items_.remove_if([&](const Item& i) { return now >= i.expires; });
    stats.expirations += before - items_.size();
    return before - items_.size();
  }

  size_t Bytes() const {
    size_t sum = 0;
    for (const auto& i : items_) sum += i.size;
    return sum;
  }

  std::vector<std::string> Order() const {
    std::vector<std::string> keys;
    for (const auto& i : items_) keys.push_back(i.key);
    return keys;
  }

  size_t Size() const { return items_.size(); }

  LocalStore::Stats stats;

 private:
  struct Item {
    std::string key;
    std::shared_ptr<const std::string> payload;
    uint64_t expires;
    size_t size;
  };

  std::list<Item>::iterator Find(const std::string& key) {
    for (auto it = items_.begin(); it != items_.end(); ++it) {
      if (it->key == key) return it;
    }
    return items_.end();
  }

  size_t max_;
  std::list<Item> items_;
};

TEST(LocalStore, NeverExceedsItsBoundAndMatchesAPlainLruUnderARandomWorkload) {
  constexpr int kOps = 100000;
  constexpr size_t kMax = 16 * 1024;
  std::mt19937_64 rng(20240521);
  LocalStore store(kMax);
  ModelStore model(kMax);
  uint64_t now = 1000;
  auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  // 300 keys with a few shared prefixes and some embedded NULs.
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    std::string k = std::string(i % 3 == 0 ? "p1:" : i % 3 == 1 ? "p2:" : "q\0", 3) + std::to_string(i);
    keys.push_back(std::move(k));
  }
  size_t refused = 0;
  for (int op = 0; op < kOps; ++op) {
    now += uniform(0, 3);
    const std::string& key = keys[uniform(0, keys.size() - 1)];
    uint64_t dice = uniform(0, 999);
    if (dice < 450) {
      auto got = store.Get(key, now);
      auto want = model.Get(key, now);
      ASSERT_EQ(Value(got), Value(want)) << "op " << op;
    } else if (dice < 900) {
      // Mostly small payloads, now and then one near or beyond the whole bound.
      size_t len = uniform(0, 99) < 97 ? uniform(0, 1500) : uniform(kMax - 400, kMax + 100);
      auto payload = Payload(std::string(len, static_cast<char>('a' + op % 26)));
      uint64_t expires = now + uniform(0, 400);  // sometimes already expired
      bool stored = store.Set(key, payload, expires, now);
      ASSERT_EQ(stored, model.Set(key, payload, expires, now)) << "op " << op;
      refused += !stored;
    } else if (dice < 960) {
      ASSERT_EQ(store.Delete(key), model.Delete(key)) << "op " << op;
    } else if (dice < 975) {
      std::string prefix = key.substr(0, uniform(0, key.size()));
      ASSERT_EQ(store.DeletePrefix(prefix), model.DeletePrefix(prefix)) << "op " << op;
    } else if (dice < 995) {
      ASSERT_EQ(store.PurgeExpired(now), model.PurgeExpired(now)) << "op " << op;
    } else if (dice < 996) {
      store.Clear();
      model.DeletePrefix("");
    } else {
      now += uniform(100, 500);  // let a batch expire
    }
    ASSERT_LE(store.Bytes(), store.MaxBytes()) << "op " << op;
    ASSERT_EQ(store.Bytes(), SumOfAccountedSizes(store)) << "op " << op;
    ASSERT_EQ(store.Bytes(), model.Bytes()) << "op " << op;
    ASSERT_EQ(store.Size(), model.Size()) << "op " << op;
    if (op % 1000 == 0) {
      ASSERT_EQ(Order(store), model.Order()) << "op " << op;
    }
  }
  EXPECT_EQ(Order(store), model.Order());
  const auto& s = store.GetStats();
  EXPECT_EQ(s.hits, model.stats.hits);
  EXPECT_EQ(s.misses, model.stats.misses);
  EXPECT_EQ(s.evictions, model.stats.evictions);
  EXPECT_EQ(s.expirations, model.stats.expirations);
  // The workload reached every path it means to.
  EXPECT_GT(s.hits, 1000u);
  EXPECT_GT(s.evictions, 1000u);
  EXPECT_GT(s.expirations, 1000u);
  EXPECT_GT(refused, 100u);
}

}  // namespace
}  // namespace respcache
