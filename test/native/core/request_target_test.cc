#include "core/request_target.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace respcache {
namespace {

// --- SplitTarget -------------------------------------------------------------------------------

TEST(SplitTarget, CutsAtTheFirstQuestionMarkOrHash) {
  EXPECT_EQ(SplitTarget("/a/b?x=1#f").path, "/a/b");
  EXPECT_EQ(SplitTarget("/a/b?x=1#f").rest, "?x=1#f");
  EXPECT_EQ(SplitTarget("/a#f?x").path, "/a");
  EXPECT_EQ(SplitTarget("/a#f?x").rest, "#f?x");
  EXPECT_EQ(SplitTarget("/a").rest, "");
}

TEST(SplitTarget, NeverDecodesOrNormalisesThePath) {
  EXPECT_EQ(SplitTarget("/ap%69/%2f/./../%7e\\x").path, "/ap%69/%2f/./../%7e\\x");
}

TEST(SplitTarget, TrimsLikeUrlParseWhenTheFallbackParserApplies) {
  EXPECT_EQ(SplitTarget("/a ").path, "/a");
  EXPECT_EQ(SplitTarget("/a ?").path, "/a ");
  EXPECT_EQ(SplitTarget("/a\t#x\xc2\xa0").path, "/a\t");
  EXPECT_EQ(SplitTarget("/a\t#x\xc2\xa0").rest, "#x");
  EXPECT_EQ(SplitTarget(" \xef\xbb\xbf/a\x01").path, "/a");
  EXPECT_EQ(SplitTarget("/a\x01").path, "/a\x01");  // the fast path trims nothing
}

TEST(SplitTarget, FlagsTargetsExpressParsesWithItsFallbackParser) {
  EXPECT_FALSE(SplitTarget("/a\\b?x").legacy_parse);
  EXPECT_TRUE(SplitTarget("/a\\b?x#").legacy_parse);
  EXPECT_TRUE(SplitTarget("/a?x\ty").legacy_parse);
  EXPECT_TRUE(SplitTarget("/a?x y").legacy_parse);
  EXPECT_TRUE(SplitTarget("/a?\xc2\xa0").legacy_parse);
  EXPECT_TRUE(SplitTarget("/a\xef\xbb\xbf").legacy_parse);
  EXPECT_FALSE(SplitTarget("/a\xc2\xa1\xef\xbb").legacy_parse);
  EXPECT_TRUE(SplitTarget("http://h/a").legacy_parse);
  EXPECT_TRUE(SplitTarget("").legacy_parse);
}

}  // namespace
}  // namespace respcache
