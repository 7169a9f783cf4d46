#include "request_key.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace respcache {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

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

// --- NormalizePath -----------------------------------------------------------------------------

TEST(NormalizePath, DecodesPercentEncodedUnreservedCharacters) {
  EXPECT_EQ(NormalizePath("/a%7eb"), "/a~b");
  EXPECT_EQ(NormalizePath("/%41%5a%61%7A%30%39%2D%2E%5F%7E"), "/AZaz09-._~");
}

TEST(NormalizePath, UppercasesTheHexOfOtherEscapes) {
  EXPECT_EQ(NormalizePath("/%c3%a9"), "/%C3%A9");
  EXPECT_EQ(NormalizePath("/a%2fb"), "/a%2Fb");
  EXPECT_EQ(NormalizePath("/a%20b"), "/a%20b");
}

TEST(NormalizePath, KeepsAnEncodedSlashDistinctFromASeparator) {
  EXPECT_NE(NormalizePath("/a%2Fb"), NormalizePath("/a/b"));
}

TEST(NormalizePath, LeavesMalformedPercentSignsAlone) {
  EXPECT_EQ(NormalizePath("/100%"), "/100%");
  EXPECT_EQ(NormalizePath("/%4"), "/%4");
  EXPECT_EQ(NormalizePath("/%zz"), "/%zz");
  EXPECT_EQ(NormalizePath("/%%41"), "/%A");
}

TEST(NormalizePath, DoesNotDecodeTwice) {
  EXPECT_EQ(NormalizePath("/%2541"), "/%2541");
}

TEST(NormalizePath, KeepsCaseAndOtherBytes) {
  EXPECT_EQ(NormalizePath("/Abc/+x~"), "/Abc/+x~");
  EXPECT_EQ(NormalizePath(""), "");
}

// --- CanonicalQuery ----------------------------------------------------------------------------

TEST(CanonicalQuery, SortsByName) {
  EXPECT_EQ(CanonicalQuery("b=2&a=1&c=3"), (Pairs{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

TEST(CanonicalQuery, SortsByByteOrder) {
  EXPECT_EQ(CanonicalQuery("b=1&B=2&%C3%A9=3&_=4"),
            (Pairs{{"B", "2"}, {"_", "4"}, {"b", "1"}, {"\xC3\xA9", "3"}}));
}

TEST(CanonicalQuery, KeepsTheOrderOfRepeatedNames) {
  EXPECT_EQ(CanonicalQuery("a=2&b=0&a=1"), (Pairs{{"a", "2"}, {"a", "1"}, {"b", "0"}}));
  EXPECT_NE(CanonicalQuery("a=1&a=2"), CanonicalQuery("a=2&a=1"));
}

TEST(CanonicalQuery, DecodesPlusAndPercent20AsASpace) {
  EXPECT_EQ(CanonicalQuery("q=a+b"), (Pairs{{"q", "a b"}}));
  EXPECT_EQ(CanonicalQuery("q=a+b"), CanonicalQuery("q=a%20b"));
  EXPECT_EQ(CanonicalQuery("a+b=1"), (Pairs{{"a b", "1"}}));
  EXPECT_EQ(CanonicalQuery("q=%2B"), (Pairs{{"q", "+"}}));
}

TEST(CanonicalQuery, DecodesEscapesInEitherCase) {
  EXPECT_EQ(CanonicalQuery("q=%c3%a9"), CanonicalQuery("q=%C3%A9"));
  EXPECT_EQ(CanonicalQuery("q=%41"), CanonicalQuery("q=A"));
}

TEST(CanonicalQuery, LeavesMalformedPercentSignsLiteral) {
  EXPECT_EQ(CanonicalQuery("q=100%"), (Pairs{{"q", "100%"}}));
  EXPECT_EQ(CanonicalQuery("q=%g1&r=%4"), (Pairs{{"q", "%g1"}, {"r", "%4"}}));
}

TEST(CanonicalQuery, DropsEmptySegments) {
  EXPECT_EQ(CanonicalQuery("&a=1&&b=2&"), CanonicalQuery("a=1&b=2"));
  EXPECT_TRUE(CanonicalQuery("").empty());
  EXPECT_TRUE(CanonicalQuery("&&").empty());
}

TEST(CanonicalQuery, TreatsANameWithoutEqualsAsAnEmptyValue) {
  EXPECT_EQ(CanonicalQuery("a"), CanonicalQuery("a="));
  EXPECT_EQ(CanonicalQuery("a"), (Pairs{{"a", ""}}));
  EXPECT_EQ(CanonicalQuery("=x"), (Pairs{{"", "x"}}));
}

TEST(CanonicalQuery, SplitsAtTheFirstEqualsOnly) {
  EXPECT_EQ(CanonicalQuery("a=b=c"), (Pairs{{"a", "b=c"}}));
  EXPECT_NE(CanonicalQuery("a%3Db=c"), CanonicalQuery("a=b%3Dc"));
}

TEST(CanonicalQuery, KeepsAnEncodedAmpersandInsideTheValue) {
  EXPECT_EQ(CanonicalQuery("a=1%262"), (Pairs{{"a", "1&2"}}));
  EXPECT_EQ(CanonicalQuery("a=1&2"), (Pairs{{"2", ""}, {"a", "1"}}));
}

// --- RequestKeyHash ----------------------------------------------------------------------------

RequestKeyInput Input(std::string_view method, std::string_view host, std::string_view path,
                      std::string_view query,
                      std::vector<std::pair<std::string_view, std::string_view>> vary = {}) {
  return RequestKeyInput{method, host, path, query, std::move(vary)};
}

// Pins the documented layout; computed with Python's hashlib from the parts
// ["respcache-key-v1", "GET", "example.com", "/a~b", "2", "a", "1", "b", "2", "0"].
TEST(RequestKeyHash, MatchesTheDocumentedLayout) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "Example.com", "/a%7eb", "b=2&a=1")),
            "e3294ce733e6fcc8e1d8c9a9fe7b4f42973bf50b65e22b9180e51d8d02eec0d7");
  EXPECT_EQ(RequestKeyHash(Input("GET", "Example.com", "/a%7eb", "b=2&a=1")),
            HashParts({"respcache-key-v1", "GET", "example.com", "/a~b", "2", "a", "1", "b", "2",
                       "0"}));
}

TEST(RequestKeyHash, TreatsTheHostCaseInsensitively) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "Shop.EXAMPLE", "/", "")),
            RequestKeyHash(Input("GET", "shop.example", "/", "")));
  EXPECT_NE(RequestKeyHash(Input("GET", "one.example", "/", "")),
            RequestKeyHash(Input("GET", "two.example", "/", "")));
}

TEST(RequestKeyHash, IgnoresTheOrderOfQueryParameters) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "h", "/k", "a=1&b=2")),
            RequestKeyHash(Input("GET", "h", "/k", "b=2&a=1")));
}

TEST(RequestKeyHash, IgnoresTheOrderAndNameCaseOfVariedHeaders) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "h", "/", "", {{"Accept", "json"}, {"accept-language", "fr"}})),
            RequestKeyHash(Input("GET", "h", "/", "", {{"Accept-Language", "fr"}, {"accept", "json"}})));
}

TEST(RequestKeyHash, DependsOnVariedHeaderValues) {
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/", "", {{"accept", "json"}})),
            RequestKeyHash(Input("GET", "h", "/", "", {{"accept", "html"}})));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/", "", {{"accept", ""}})),
            RequestKeyHash(Input("GET", "h", "/", "")));
}

TEST(RequestKeyHash, KeepsQueryAndVaryListsApart) {
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/", "accept=json")),
            RequestKeyHash(Input("GET", "h", "/", "", {{"accept", "json"}})));
}

TEST(RequestKeyHash, DependsOnMethodAndPath) {
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k", "")), RequestKeyHash(Input("POST", "h", "/k", "")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k/a", "")), RequestKeyHash(Input("GET", "h", "/k/b", "")));
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k/Abc", "")),
            RequestKeyHash(Input("GET", "h", "/k/abc", "")));
}

TEST(RequestKeyHash, NormalisesThePath) {
  EXPECT_EQ(RequestKeyHash(Input("GET", "h", "/k/%7Ex", "")), RequestKeyHash(Input("GET", "h", "/k/~x", "")));
  EXPECT_EQ(RequestKeyHash(Input("GET", "h", "/%c3%a9", "")), RequestKeyHash(Input("GET", "h", "/%C3%A9", "")));
}

TEST(RequestKeyHash, TellsAnEncodedAmpersandFromASeparator) {
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k", "a=1%262")),
            RequestKeyHash(Input("GET", "h", "/k", "a=1&2")));
}

TEST(RequestKeyHash, TellsAnEmptyQueryFromABareName) {
  EXPECT_NE(RequestKeyHash(Input("GET", "h", "/k", "")), RequestKeyHash(Input("GET", "h", "/k", "a")));
  EXPECT_EQ(RequestKeyHash(Input("GET", "h", "/k", "a")), RequestKeyHash(Input("GET", "h", "/k", "a=")));
}

}  // namespace
}  // namespace respcache
