#include "core/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace respcache {
namespace {

std::string HexOf(std::string_view message) {
  Sha256 sha;
  sha.Update(message);
  return Sha256::Hex(sha.Final());
}

// Vectors from FIPS 180-4's examples and NIST's SHA-256 byte-oriented test set.
TEST(Sha256, HashesTheEmptyMessage) {
  EXPECT_EQ(HexOf(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, HashesAbc) {
  EXPECT_EQ(HexOf("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, Hashes448BitMessageThatNeedsAnExtraPaddingBlock) {
  EXPECT_EQ(HexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, Hashes896BitMessage) {
  EXPECT_EQ(HexOf("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                  "klmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, HashesOneMillionAsFedInOddChunks) {
  const std::string chunk(1000, 'a');
  const size_t sizes[] = {1, 3, 7, 63, 64, 65, 127, 999};
  Sha256 sha;
  size_t fed = 0;
  for (size_t i = 0; fed < 1000000; ++i) {
    size_t n = std::min(sizes[i % 8], size_t{1000000} - fed);
    sha.Update(chunk.data(), n);
    fed += n;
  }
  EXPECT_EQ(Sha256::Hex(sha.Final()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, GivesTheSameDigestAtEverySplitPoint) {
  std::string message;
  for (int i = 0; i < 200; ++i) message.push_back(static_cast<char>(i * 37 + 11));
  const std::string whole = HexOf(message);
  for (size_t split = 0; split <= message.size(); ++split) {
    Sha256 sha;
    sha.Update(message.data(), split);
    sha.Update(message.data() + split, message.size() - split);
    EXPECT_EQ(Sha256::Hex(sha.Final()), whole) << "split at " << split;
  }
}

TEST(Sha256, AcceptsEmptyUpdatesWithANullPointer) {
  Sha256 sha;
  sha.Update(nullptr, 0);
  sha.Update("abc");
  sha.Update(nullptr, 0);
  EXPECT_EQ(Sha256::Hex(sha.Final()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, ResetsAfterFinalSoTheObjectCanHashAgain) {
  Sha256 sha;
  sha.Update("something else entirely");
  sha.Final();
  sha.Update("abc");
  EXPECT_EQ(Sha256::Hex(sha.Final()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256::Hex(sha.Final()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, HexIsLowercaseAnd64Characters) {
  Sha256::Digest d{};
  d[0] = 0xAB;
  d[31] = 0x0F;
  std::string hex = Sha256::Hex(d);
  ASSERT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.substr(0, 2), "ab");
  EXPECT_EQ(hex.substr(62), "0f");
}

}  // namespace
}  // namespace respcache
