#include "core/key_parts.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace respcache {
namespace {

// --- HashParts ---------------------------------------------------------------------------------

// Computed independently with Python's hashlib:
//   h = sha256(); for p in parts: h.update(struct.pack('>Q', len(p)) + p)
TEST(HashParts, MatchesAnIndependentlyComputedValue) {
  EXPECT_EQ(HashParts({"a", "b"}), "3c9d591045bc8876f9d0399bbfb05c6a412096e906f73278f98406cd5dca86df");
}

TEST(HashParts, HashesNoPartsAsTheEmptyMessage) {
  EXPECT_EQ(HashParts({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashParts, TellsWhereOnePartEndsAndTheNextBegins) {
  EXPECT_NE(HashParts({"ab", "c"}), HashParts({"a", "bc"}));
  EXPECT_NE(HashParts({"ab", "c"}), HashParts({"abc"}));
}

TEST(HashParts, CountsEmptyParts) {
  EXPECT_NE(HashParts({""}), HashParts({}));
  EXPECT_NE(HashParts({"a", ""}), HashParts({"a"}));
  EXPECT_NE(HashParts({"", ""}), HashParts({""}));
}

TEST(HashParts, HashesBytesIncludingNul) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(HashParts({with_nul}), HashParts({"a"}));
  EXPECT_EQ(HashParts({with_nul}), HashParts({std::string_view("a\0b", 3)}));
}

// --- EncodeParts / DecodeParts ------------------------------------------------------------------

TEST(EncodeParts, IsWhatHashPartsHashes) {
  std::vector<std::string> decoded;
  const std::string encoded = EncodeParts({"ab", "", "c"});
  EXPECT_EQ(encoded, std::string("\0\0\0\0\0\0\0\x02" "ab" "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\x01" "c", 27));
  ASSERT_TRUE(DecodeParts(encoded, &decoded));
  EXPECT_EQ(decoded, (std::vector<std::string>{"ab", "", "c"}));
}

TEST(DecodeParts, RefusesATruncatedLengthOrAPartPastTheEnd) {
  std::vector<std::string> decoded;
  EXPECT_FALSE(DecodeParts(std::string("\0\0\0", 3), &decoded));
  EXPECT_FALSE(DecodeParts(std::string("\0\0\0\0\0\0\0\x05" "abc", 11), &decoded));
  EXPECT_FALSE(DecodeParts(std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8), &decoded));
  EXPECT_TRUE(DecodeParts("", &decoded));
  EXPECT_TRUE(decoded.empty());
}

}  // namespace
}  // namespace respcache
