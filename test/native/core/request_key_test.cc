#include "core/request_key.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace respcache {
namespace {

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
