#include "request_key.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
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

// --- RequestKeyHash ----------------------------------------------------------------------------

RequestKeyInput Input(std::string_view method, std::string_view host, std::string_view target,
                      std::optional<std::string_view> query = std::nullopt,
                      std::vector<std::pair<std::string_view, std::string_view>> vary = {}) {
  return RequestKeyInput{method, host, target, query, std::nullopt, std::move(vary)};
}

// Pins the documented layout; computed with Python's hashlib from the parts
// ["respcache-key-v2", "GET", "example.com", "/a%7eb", "fast", "=", 'q{"a":"1"}', "0"].
TEST(RequestKeyHash, MatchesTheDocumentedLayout) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "Example.com", "/a%7eb?a=1", R"({"a":"1"})")),
            HashParts({"respcache-key-v2", "GET", "example.com", "/a%7eb", "fast", "=", R"(q{"a":"1"})", "0"}));
  EXPECT_EQ(RequestKeyHash(Input("GET", "Example.com", "/a%7eb?a=1", R"({"a":"1"})")),
            "474d0830e105d2e3d0f375dd41f380d1c8e34e57ae700e26d62ce2375b9edb22");
}

TEST(RequestKeyHash, IsTheHashOfTheCanonicalEncoding) {
  const auto input = Input("GET", "h", "/k?x#y", std::nullopt, {{"Accept", "json"}});
  std::vector<std::string> parts;
  ASSERT_TRUE(DecodeParts(CanonicalRequestKey(input), &parts));
  EXPECT_EQ(parts, (std::vector<std::string>{"respcache-key-v2", "GET", "h", "/k", "legacy", "=", "r?x#y", "1",
                                             "accept", "json"}));
}

TEST(RequestKeyHash, KeysTheRoutedPathOnlyWhereItIsNotTheTargetsPath) {
  auto routed = [](std::string_view target, std::optional<std::string_view> path) {
    RequestKeyInput input = Input("GET", "h", target, "{}");
    input.routed_path = path;
    return RequestKeyHash(input);
  };
  EXPECT_EQ(routed("/a/b?x", "/a/b"), routed("/a/b?x", std::nullopt));
  // A rewrite before the cache: the same target routed to two places.
  EXPECT_NE(routed("/index.php?page=a", "/a"), routed("/index.php?page=a", "/b"));
  EXPECT_NE(routed("/index.php", "/a"), routed("/index.php", std::nullopt));
}

TEST(RequestKeyHash, TreatsTheHostCaseInsensitively) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "Shop.EXAMPLE", "/")), RequestKeyHash(Input("GET", "shop.example", "/")));
  EXPECT_NE(RequestKeyHash(Input("GET", "one.example", "/")), RequestKeyHash(Input("GET", "two.example", "/")));
}

TEST(RequestKeyHash, KeysTheParsedQueryInsteadOfTheRawOneWhenGiven) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "h", "/k?a=1&b=2", "{}")), RequestKeyHash(Input("GET", "h", "/k?b=2", "{}")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k?a=1", "{}")), RequestKeyHash(Input("GET", "h", "/k?a=1")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k?a=1")), RequestKeyHash(Input("GET", "h", "/k?a=%31")));
}

TEST(RequestKeyHash, IgnoresTheOrderAndNameCaseOfVariedHeaders) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "h", "/", "{}", {{"Accept", "json"}, {"accept-language", "fr"}})),
            RequestKeyHash(Input("GET", "h", "/", "{}", {{"Accept-Language", "fr"}, {"accept", "json"}})));
}

TEST(RequestKeyHash, DependsOnVariedHeaderValues) {
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/", "{}", {{"accept", "json"}})),
            RequestKeyHash(Input("GET", "h", "/", "{}", {{"accept", "html"}})));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/", "{}", {{"accept", ""}})), RequestKeyHash(Input("GET", "h", "/", "{}")));
}

TEST(RequestKeyHash, DependsOnMethodPathAndParser) {
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k")), RequestKeyHash(Input("POST", "h", "/k")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k/a")), RequestKeyHash(Input("GET", "h", "/k/b")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k/Abc")), RequestKeyHash(Input("GET", "h", "/k/abc")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/app/api")), RequestKeyHash(Input("GET", "h", "/app/ap%69")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/%c3%a9")), RequestKeyHash(Input("GET", "h", "/%C3%A9")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/a\\b?x", "{}")), RequestKeyHash(Input("GET", "h", "/a\\b?x#", "{}")));
}

}  // namespace
}  // namespace respcache
