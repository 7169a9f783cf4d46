#include "core/local_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace respcache {
namespace {

constexpr size_t kOverhead = LocalStore::kItemOverhead;

// A fake value: its bytes, and how often the store released it.
struct FakeValue {
  std::string bytes;
  int releases = 0;
};

FakeValue* AsFake(LocalStore::Value v) { return static_cast<FakeValue*>(v); }

// Every value a test makes, kept until the test ends so a late or second release is counted,
// never a use after free.
class Values {
 public:
  LocalStore::Value Make(std::string bytes) {
    all_.push_back(std::make_unique<FakeValue>(FakeValue{std::move(bytes)}));
    return all_.back().get();
  }

  static void Release(void* context, LocalStore::Value v) noexcept {
    ++AsFake(v)->releases;
    ++static_cast<Values*>(context)->released;
  }

  const std::deque<std::unique_ptr<FakeValue>>& all() const { return all_; }
  size_t released = 0;

 private:
  std::deque<std::unique_ptr<FakeValue>> all_;
};

// Keys from most to least recently used.
std::vector<std::string> Order(const LocalStore& store) {
  std::vector<std::string> keys;
  store.ForEach([&](std::string_view key, LocalStore::Value, size_t, uint64_t) { keys.emplace_back(key); });
  return keys;
}

size_t SumOfAccountedSizes(const LocalStore& store) {
  size_t sum = 0;
  store.ForEach([&](std::string_view key, LocalStore::Value, size_t size, uint64_t) {
    sum += LocalStore::AccountedSize(key.size(), size);
  });
  return sum;
}

std::string Bytes(LocalStore::Value v) { return v ? AsFake(v)->bytes : "<null>"; }

// Each test's store holds fake values; when it is gone, every value Set was given must have been
// released exactly once.
class LocalStoreTest : public ::testing::Test {
 protected:
  LocalStore& NewStore(size_t max_bytes) {
    store_.emplace(max_bytes, &Values::Release, &values_);
    return *store_;
  }

  // Sets a fresh value of `bytes`; returns it through `made` when asked.
  bool Put(std::string_view key, std::string bytes, uint64_t expires, uint64_t now,
           LocalStore::Value* made = nullptr) {
    size_t size = bytes.size();
    LocalStore::Value v = values_.Make(std::move(bytes));
    if (made != nullptr) *made = v;
    return store_->Set(key, v, size, expires, now);
  }

  void TearDown() override {
    store_.reset();
    for (const auto& v : values_.all()) EXPECT_EQ(v->releases, 1) << "value \"" << v->bytes << "\"";
  }

  Values values_;  // outlives the store
  std::optional<LocalStore> store_;
};

TEST_F(LocalStoreTest, AccountsKeyValueAndAFixedOverheadPerItem) {
  LocalStore& store = NewStore(1000);
  EXPECT_EQ(LocalStore::AccountedSize(3, 10), 13 + kOverhead);
  ASSERT_TRUE(Put("key", "0123456789", 100, 0));
  EXPECT_EQ(store.Size(), 1u);
  EXPECT_EQ(store.Bytes(), 13 + kOverhead);
  EXPECT_EQ(store.ValueBytes(), 10u);
  EXPECT_EQ(store.MaxBytes(), 1000u);
  EXPECT_EQ(LocalStore::AccountedSize(SIZE_MAX - 10, 5), SIZE_MAX);
  EXPECT_EQ(LocalStore::AccountedSize(5, SIZE_MAX - kOverhead), SIZE_MAX);
}

TEST_F(LocalStoreTest, AccountsTheSizeItIsGivenNotTheValue) {
  // The store never reads a value: a handle of any size is what Set says it is.
  LocalStore& store = NewStore(1000);
  ASSERT_TRUE(store.Set("k", values_.Make("tiny"), 500, 100, 0));
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(1, 500));
  EXPECT_EQ(store.ValueBytes(), 500u);
  EXPECT_FALSE(store.Set("big", values_.Make("tiny"), 1000, 100, 0));
}

TEST_F(LocalStoreTest, GetReturnsTheHeldValueItselfAndKeepsOwningIt) {
  LocalStore& store = NewStore(1000);
  LocalStore::Value v;
  ASSERT_TRUE(Put("k", std::string("\x00\xff\x01 body", 8), 100, 0, &v));
  EXPECT_EQ(store.Get("k", 50), v);
  EXPECT_EQ(store.Get("k", 51), v);
  EXPECT_EQ(AsFake(v)->releases, 0);
  EXPECT_EQ(store.Get("missing", 50), nullptr);
  EXPECT_EQ(store.GetStats().hits, 2u);
  EXPECT_EQ(store.GetStats().misses, 1u);
  EXPECT_EQ(values_.released, 0u);
}

TEST_F(LocalStoreTest, EvictsTheLeastRecentlyUsedAndGetRefreshesRecency) {
  // Room for exactly three items of one key byte and ten value bytes.
  const size_t item = LocalStore::AccountedSize(1, 10);
  LocalStore& store = NewStore(3 * item);
  LocalStore::Value b;
  ASSERT_TRUE(Put("a", "0123456789", 1000, 0));
  ASSERT_TRUE(Put("b", "0123456789", 1000, 0, &b));
  ASSERT_TRUE(Put("c", "0123456789", 1000, 0));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_NE(store.Get("a", 1), nullptr);  // a is now the most recent; b the least
  EXPECT_EQ(Order(store), (std::vector<std::string>{"a", "c", "b"}));

  ASSERT_TRUE(Put("d", "0123456789", 1000, 2));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"d", "a", "c"}));
  EXPECT_EQ(AsFake(b)->releases, 1);  // released by the eviction itself
  EXPECT_EQ(store.Get("b", 3), nullptr);
  EXPECT_EQ(store.GetStats().evictions, 1u);
  EXPECT_EQ(store.GetStats().expirations, 0u);

  // A bigger item makes room by evicting as many as it needs, oldest first.
  ASSERT_TRUE(Put("e", std::string(10 + item, 'x'), 1000, 4));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"e", "d"}));
  EXPECT_EQ(store.GetStats().evictions, 3u);
  EXPECT_EQ(values_.released, 3u);
  EXPECT_EQ(store.Bytes(), SumOfAccountedSizes(store));
  EXPECT_LE(store.Bytes(), store.MaxBytes());
}

TEST_F(LocalStoreTest, ReplacingAKeyUpdatesItInPlaceAndReleasesTheOldValue) {
  LocalStore& store = NewStore(10000);
  LocalStore::Value first, second;
  ASSERT_TRUE(Put("k", "short", 100, 0, &first));
  ASSERT_TRUE(Put("other", "x", 100, 0));
  ASSERT_TRUE(Put("k", "a much longer value", 200, 10, &second));
  EXPECT_EQ(AsFake(first)->releases, 1);
  EXPECT_EQ(AsFake(second)->releases, 0);
  EXPECT_EQ(store.Size(), 2u);
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(1, 19) + LocalStore::AccountedSize(5, 1));
  EXPECT_EQ(store.ValueBytes(), 20u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"k", "other"}));  // and made the most recent
  // The new expiry replaced the old one.
  EXPECT_EQ(store.Get("k", 150), second);

  ASSERT_TRUE(Put("k", "", 200, 20));
  EXPECT_EQ(AsFake(second)->releases, 1);
  EXPECT_EQ(store.Size(), 2u);
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(1, 0) + LocalStore::AccountedSize(5, 1));
  EXPECT_EQ(Bytes(store.Get("k", 30)), "");
  EXPECT_EQ(store.GetStats().evictions, 0u);
}

TEST_F(LocalStoreTest, AReplacementThatGrowsEvictsOthersButNeverItself) {
  const size_t item = LocalStore::AccountedSize(1, 10);
  LocalStore& store = NewStore(3 * item);
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(Put(k, "0123456789", 1000, 0));
  // "a" is the least recently used, and it is the one growing to fill the whole store.
  LocalStore::Value grown;
  ASSERT_TRUE(Put("a", std::string(10 + 2 * item, 'x'), 1000, 1, &grown));
  EXPECT_EQ(Order(store), (std::vector<std::string>{"a"}));
  EXPECT_EQ(store.Get("a", 2), grown);
  EXPECT_EQ(store.Bytes(), store.MaxBytes());
  EXPECT_EQ(store.GetStats().evictions, 2u);
  EXPECT_EQ(values_.released, 3u);  // the old "a", "b" and "c"
}

TEST_F(LocalStoreTest, RefusesAnItemLargerThanTheStoreReleasingItAndTheOldValue) {
  const size_t max = 200;
  LocalStore& store = NewStore(max);
  LocalStore::Value old, refused;
  ASSERT_TRUE(Put("k", "old", 100, 0, &old));
  ASSERT_TRUE(Put("keep", "v", 100, 0));
  EXPECT_FALSE(Put("k", std::string(max - kOverhead, 'x'), 100, 0, &refused));  // 1 byte over
  EXPECT_EQ(AsFake(old)->releases, 1);
  EXPECT_EQ(AsFake(refused)->releases, 1);
  EXPECT_EQ(store.Get("k", 1), nullptr);
  EXPECT_EQ(Bytes(store.Get("keep", 1)), "v");
  EXPECT_EQ(store.Size(), 1u);
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(4, 1));
  EXPECT_EQ(store.GetStats().evictions, 0u);
  // Exactly the bound fits, evicting the rest.
  EXPECT_TRUE(Put("k", std::string(max - kOverhead - 1, 'x'), 100, 0));
  EXPECT_EQ(store.Bytes(), max);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"k"}));
}

TEST_F(LocalStoreTest, AStoreOfZeroBytesStoresNothing) {
  LocalStore& store = NewStore(0);
  EXPECT_FALSE(Put("", "", 100, 0));
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
  EXPECT_EQ(values_.released, 1u);
}

TEST_F(LocalStoreTest, RefusesAnItemThatHasAlreadyExpiredOrANullValue) {
  LocalStore& store = NewStore(1000);
  ASSERT_TRUE(Put("k", "old", 100, 0));
  EXPECT_FALSE(Put("k", "new", 50, 50));  // expires at now: already gone
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(values_.released, 2u);
  ASSERT_TRUE(Put("k", "old", 100, 0));
  EXPECT_FALSE(store.Set("k", nullptr, 0, 100, 0));  // nothing to release but the old value
  EXPECT_EQ(values_.released, 3u);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
}

TEST_F(LocalStoreTest, GetRemovesAnExpiredItemReleasesItAndCountsAMiss) {
  LocalStore& store = NewStore(1000);
  LocalStore::Value v;
  ASSERT_TRUE(Put("k", "v", 100, 0, &v));
  EXPECT_EQ(store.Get("k", 99), v);
  EXPECT_EQ(AsFake(v)->releases, 0);
  EXPECT_EQ(store.Get("k", 100), nullptr);  // an expiry equal to now has passed
  EXPECT_EQ(AsFake(v)->releases, 1);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
  EXPECT_EQ(store.ValueBytes(), 0u);
  const auto& s = store.GetStats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.expirations, 1u);
  // Already gone: a second Get is a plain miss.
  EXPECT_EQ(store.Get("k", 101), nullptr);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.expirations, 1u);
  EXPECT_EQ(AsFake(v)->releases, 1);
}

TEST_F(LocalStoreTest, PurgeExpiredRemovesAndReleasesOnlyExpiredItems) {
  LocalStore& store = NewStore(10000);
  LocalStore::Value c;
  ASSERT_TRUE(Put("a", "1", 10, 0));
  ASSERT_TRUE(Put("b", "2", 20, 0));
  ASSERT_TRUE(Put("c", "3", 30, 0, &c));
  ASSERT_TRUE(Put("d", "4", 20, 0));
  EXPECT_EQ(store.PurgeExpired(9), 0u);
  EXPECT_EQ(values_.released, 0u);
  EXPECT_EQ(store.PurgeExpired(20), 3u);
  EXPECT_EQ(values_.released, 3u);
  EXPECT_EQ(AsFake(c)->releases, 0);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"c"}));
  EXPECT_EQ(store.Bytes(), LocalStore::AccountedSize(1, 1));
  EXPECT_EQ(store.GetStats().expirations, 3u);
  EXPECT_EQ(store.GetStats().misses, 0u);  // purging is not a lookup
}

TEST_F(LocalStoreTest, MakingRoomCountsAnExpiredVictimAsAnExpirationNotAnEviction) {
  const size_t item = LocalStore::AccountedSize(1, 1);
  LocalStore& store = NewStore(2 * item);
  ASSERT_TRUE(Put("a", "1", 10, 0));
  ASSERT_TRUE(Put("b", "2", 1000, 0));
  ASSERT_TRUE(Put("c", "3", 1000, 50));  // "a" expired at 10
  ASSERT_TRUE(Put("d", "4", 1000, 60));  // "b" is live
  EXPECT_EQ(store.GetStats().expirations, 1u);
  EXPECT_EQ(store.GetStats().evictions, 1u);
  EXPECT_EQ(values_.released, 2u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"d", "c"}));
}

TEST_F(LocalStoreTest, DeleteAndDeletePrefixReleaseWhatTheyRemove) {
  LocalStore& store = NewStore(10000);
  for (const char* k : {"user:1", "user:2", "user:10", "users", "product:1", "use"}) {
    ASSERT_TRUE(Put(k, k, 100, 0));
  }
  EXPECT_TRUE(store.Delete("users"));
  EXPECT_EQ(values_.released, 1u);
  EXPECT_FALSE(store.Delete("users"));
  EXPECT_EQ(values_.released, 1u);
  EXPECT_EQ(store.DeletePrefix("user:"), 3u);
  EXPECT_EQ(values_.released, 4u);
  EXPECT_EQ(store.DeletePrefix("user:"), 0u);
  EXPECT_EQ(store.DeletePrefix("nothing"), 0u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{"use", "product:1"}));
  EXPECT_EQ(store.Bytes(), SumOfAccountedSizes(store));
  // A prefix longer than a key does not match it; the empty prefix matches every key.
  EXPECT_EQ(store.DeletePrefix("used"), 0u);
  EXPECT_EQ(store.DeletePrefix(""), 2u);
  EXPECT_EQ(values_.released, 6u);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
  // Deleting is neither an eviction nor an expiration.
  EXPECT_EQ(store.GetStats().evictions, 0u);
  EXPECT_EQ(store.GetStats().expirations, 0u);
}

TEST_F(LocalStoreTest, ClearEmptiesTheStoreReleasesEveryValueAndKeepsTheCounters) {
  LocalStore& store = NewStore(10000);
  ASSERT_TRUE(Put("a", "1", 100, 0));
  ASSERT_TRUE(Put("b", "2", 100, 0));
  store.Get("a", 1);
  store.Clear();
  EXPECT_EQ(values_.released, 2u);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Bytes(), 0u);
  EXPECT_EQ(store.ValueBytes(), 0u);
  EXPECT_EQ(store.Get("a", 1), nullptr);
  EXPECT_EQ(store.GetStats().hits, 1u);
  EXPECT_EQ(store.GetStats().misses, 1u);
  ASSERT_TRUE(Put("c", "3", 100, 0));  // usable again
  EXPECT_EQ(Order(store), (std::vector<std::string>{"c"}));
  store.Clear();
  store.Clear();  // nothing left to release twice
  EXPECT_EQ(values_.released, 3u);
}

TEST_F(LocalStoreTest, DestroyingTheStoreReleasesWhatItStillHolds) {
  NewStore(10000);
  ASSERT_TRUE(Put("a", "1", 100, 0));
  ASSERT_TRUE(Put("b", "2", 1, 0));  // expired, not yet removed: still held
  ASSERT_TRUE(Put("a", "3", 100, 0));
  EXPECT_EQ(values_.released, 1u);
  store_.reset();
  EXPECT_EQ(values_.released, 3u);  // and TearDown checks each was released once
}

TEST_F(LocalStoreTest, KeysAreIsolatedByTheirExactBytesEmbeddedNulsIncluded) {
  LocalStore& store = NewStore(10000);
  const std::string nul_a("k\0a", 3);
  const std::string nul_b("k\0b", 3);
  const std::string just_k("k");
  const std::string trailing_nul("k\0", 2);
  ASSERT_TRUE(Put(nul_a, "A", 100, 0));
  ASSERT_TRUE(Put(nul_b, "B", 100, 0));
  ASSERT_TRUE(Put(just_k, "K", 100, 0));
  ASSERT_TRUE(Put(trailing_nul, "T", 100, 0));
  EXPECT_EQ(store.Size(), 4u);
  EXPECT_EQ(Bytes(store.Get(nul_a, 1)), "A");
  EXPECT_EQ(Bytes(store.Get(nul_b, 1)), "B");
  EXPECT_EQ(Bytes(store.Get(just_k, 1)), "K");
  EXPECT_EQ(Bytes(store.Get(trailing_nul, 1)), "T");
  EXPECT_EQ(store.Get("K", 1), nullptr);
  EXPECT_EQ(store.Bytes(), SumOfAccountedSizes(store));
  // The prefix "k\0" covers three of them, not "k" itself.
  EXPECT_EQ(store.DeletePrefix(std::string_view("k\0", 2)), 3u);
  EXPECT_EQ(Order(store), (std::vector<std::string>{just_k}));
}

// A straightforward LRU over a list, to check every decision the store makes against. It holds the
// same handles and never releases them.
class ModelStore {
 public:
  explicit ModelStore(size_t max) : max_(max) {}

  LocalStore::Value Get(const std::string& key, uint64_t now) {
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
    return it->value;
  }

  bool Set(const std::string& key, LocalStore::Value value, size_t value_size, uint64_t expires,
           uint64_t now) {
    auto it = Find(key);
    if (it != items_.end()) items_.erase(it);
    size_t size = key.size() + value_size + kOverhead;
    if (size > max_ || now >= expires) return false;
    items_.push_front(Item{key, value, expires, size});
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
    LocalStore::Value value;
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

TEST_F(LocalStoreTest, NeverExceedsItsBoundMatchesAPlainLruAndReleasesExactlyWhatItDropsUnderARandomWorkload) {
  constexpr int kOps = 100000;
  constexpr size_t kMax = 16 * 1024;
  std::mt19937_64 rng(20240521);
  LocalStore& store = NewStore(kMax);
  ModelStore model(kMax);
  uint64_t now = 1000;
  auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  // Every value made so far is released exactly when the store no longer holds it.
  auto check_releases = [&](int op) {
    std::unordered_set<LocalStore::Value> held;
    store.ForEach([&](std::string_view, LocalStore::Value v, size_t, uint64_t) { held.insert(v); });
    ASSERT_EQ(held.size(), store.Size()) << "op " << op;  // no handle held twice
    for (const auto& v : values_.all()) {
      ASSERT_EQ(v->releases, held.count(v.get()) ? 0 : 1) << "op " << op;
    }
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
      ASSERT_EQ(store.Get(key, now), model.Get(key, now)) << "op " << op;
    } else if (dice < 900) {
      // Mostly small values, now and then one near or beyond the whole bound.
      size_t len = uniform(0, 99) < 97 ? uniform(0, 1500) : uniform(kMax - 400, kMax + 100);
      LocalStore::Value value = values_.Make(std::to_string(op));
      uint64_t expires = now + uniform(0, 400);  // sometimes already expired
      bool stored = store.Set(key, value, len, expires, now);
      ASSERT_EQ(stored, model.Set(key, value, len, expires, now)) << "op " << op;
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
    ASSERT_EQ(values_.released, values_.all().size() - store.Size()) << "op " << op;
    if (op % 1000 == 0) {
      ASSERT_EQ(Order(store), model.Order()) << "op " << op;
      check_releases(op);
    }
  }
  EXPECT_EQ(Order(store), model.Order());
  check_releases(kOps);
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
