#include "core/cluster_slot.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace respcache {
namespace {

TEST(Crc16, MatchesTheXmodemCheckValue) {
  EXPECT_EQ(Crc16("123456789", 9), 0x31C3);
}

TEST(Crc16, IsZeroForNoBytes) {
  EXPECT_EQ(Crc16("", 0), 0);
}

TEST(KeySlot, HashesAKeyWithoutTagWhole) {
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot(""), 0);
}

TEST(KeySlot, HashesOnlyTheTag) {
  EXPECT_EQ(KeySlot("{foo}x"), 12182);
  EXPECT_EQ(KeySlot("a{foo}bar{baz}"), 12182);  // the first pair only
}

TEST(KeySlot, HashesTheWholeKeyWhenTheTagIsEmpty) {
  EXPECT_EQ(KeySlot("{}x"), Crc16("{}x", 3) & 16383);
  EXPECT_EQ(KeySlot("{}x"), 10595);  // CLUSTER KEYSLOT {}x
}

TEST(KeySlot, TakesTheFirstOpenAndTheFirstCloseAfterIt) {
  EXPECT_EQ(KeySlot("{{a}}"), KeySlot("{a"));
  EXPECT_EQ(KeySlot("{{a}}"), 10276);  // CLUSTER KEYSLOT {{a}}
  EXPECT_EQ(KeySlot("}{a}"), KeySlot("a"));
}

TEST(KeySlot, HashesTheWholeKeyWhenNoCloseFollows) {
  EXPECT_EQ(KeySlot("a{b"), Crc16("a{b", 3) & 16383);
  EXPECT_EQ(KeySlot("a{b"), 13340);
}

TEST(KeySlot, HashesBinaryBytesIncludingNul) {
  const std::string key("\0{\xff}\0", 5);
  EXPECT_EQ(KeySlot(key), Crc16("\xff", 1) & 16383);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The fixture was written by fixtures/make-cluster-slot-vectors.js from a real
// `redis-server --cluster-enabled yes` (7.0.15): CLUSTER KEYSLOT of 2000 keys, many binary or with
// braces in random places.
TEST(KeySlot, AgreesWithRedisClusterKeyslotOnTwoThousandKeys) {
  std::ifstream in(RESPCACHE_SLOT_VECTORS);
  ASSERT_TRUE(in) << "cannot open " << RESPCACHE_SLOT_VECTORS;
  std::string line;
  int checked = 0, with_brace = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string hex;
    int expected = -1;
    ASSERT_TRUE(fields >> hex >> expected) << line;
    std::string key;
    if (hex != "-") {
      ASSERT_EQ(hex.size() % 2, 0u) << line;
      for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
        ASSERT_TRUE(hi >= 0 && lo >= 0) << line;
        key.push_back(static_cast<char>(hi * 16 + lo));
      }
    }
    if (key.find('{') != std::string::npos) ++with_brace;
    EXPECT_EQ(KeySlot(key), expected) << "key hex " << hex;
    ++checked;
  }
  EXPECT_EQ(checked, 2000);
  EXPECT_GT(with_brace, 500);
}

}  // namespace
}  // namespace respcache
