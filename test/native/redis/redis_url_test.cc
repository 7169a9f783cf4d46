#include "redis/redis_url.h"

#include <gtest/gtest.h>

#include <string>

namespace respcache {
namespace {

RedisEndpoint Parse(std::string_view url) {
  RedisEndpoint e;
  std::string error;
  EXPECT_TRUE(ParseRedisUrl(url, &e, &error)) << url << ": " << error;
  EXPECT_EQ(error, "");
  return e;
}

std::string Refusal(std::string_view url) {
  RedisEndpoint e;
  e.host = "untouched";
  std::string error;
  EXPECT_FALSE(ParseRedisUrl(url, &e, &error)) << url;
  EXPECT_EQ(e.host, "untouched") << url;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_FALSE(error.empty()) << url;
  return error;
}

// --- redis:// ----------------------------------------------------------------------------------

TEST(ParseRedisUrl, ReadsHostAndPort) {
  RedisEndpoint e = Parse("redis://cache.internal:6380");
  EXPECT_EQ(e.host, "cache.internal");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.path, "");
  EXPECT_EQ(e.db, 0);
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "");
}

TEST(ParseRedisUrl, DefaultsThePortTo6379) {
  EXPECT_EQ(Parse("redis://10.0.0.5").port, 6379);
  EXPECT_EQ(Parse("redis://10.0.0.5/").host, "10.0.0.5");
}

TEST(ParseRedisUrl, ReadsTheSchemeCaseInsensitively) {
  EXPECT_EQ(Parse("REDIS://h:1").port, 1);
}

TEST(ParseRedisUrl, TakesAnEmptyHostAsTheLocalServer) {
  RedisEndpoint e = Parse("redis://");
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(Parse("redis://:6390").port, 6390);
  EXPECT_EQ(Parse("redis://:pw@/3").host, "127.0.0.1");
}

TEST(ParseRedisUrl, StripsTheBracketsOfAnIpv6Host) {
  RedisEndpoint e = Parse("redis://[::1]:6390/2");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 6390);
  EXPECT_EQ(e.db, 2);
  EXPECT_EQ(Parse("redis://[2001:db8::7]").host, "2001:db8::7");
  EXPECT_EQ(Parse("redis://[2001:db8::7]").port, 6379);
}

TEST(ParseRedisUrl, ReadsTheDatabaseFromThePathOrTheQuery) {
  EXPECT_EQ(Parse("redis://h/5").db, 5);
  EXPECT_EQ(Parse("redis://h?db=7").db, 7);
  EXPECT_EQ(Parse("redis://h/?db=7").db, 7);
  EXPECT_EQ(Parse("redis://h:1/0").db, 0);
  EXPECT_EQ(Parse("redis://h/2147483647").db, 2147483647);
}

TEST(ParseRedisUrl, ReadsAPasswordAlone) {
  RedisEndpoint e = Parse("redis://:s3cret@h:6379");
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "s3cret");
  EXPECT_EQ(e.host, "h");
}

TEST(ParseRedisUrl, ReadsUsernameAndPassword) {
  RedisEndpoint e = Parse("redis://app:pw@h:6379/1");
  EXPECT_EQ(e.username, "app");
  EXPECT_EQ(e.password, "pw");
  EXPECT_EQ(e.db, 1);
}

TEST(ParseRedisUrl, PercentDecodesCredentials) {
  RedisEndpoint e = Parse("redis://us%65r:p%40ss%3Aw%2Fo%3Frd%25@h");
  EXPECT_EQ(e.username, "user");
  EXPECT_EQ(e.password, "p@ss:w/o?rd%");
}

TEST(ParseRedisUrl, LetsAnUnencodedAtSignStayInThePassword) {
  RedisEndpoint e = Parse("redis://:p@ss@h");
  EXPECT_EQ(e.password, "p@ss");
  EXPECT_EQ(e.host, "h");
}

TEST(ParseRedisUrl, ReplacesWhateverTheEndpointHeld) {
  RedisEndpoint e;
  e.password = "old";
  e.db = 9;
  std::string error;
  ASSERT_TRUE(ParseRedisUrl("redis://h", &e, &error));
  EXPECT_EQ(e.password, "");
  EXPECT_EQ(e.db, 0);
}

// --- unix sockets ------------------------------------------------------------------------------

TEST(ParseRedisUrl, ReadsAUnixSocketPath) {
  RedisEndpoint e = Parse("unix:///run/redis/redis.sock");
  EXPECT_EQ(e.path, "/run/redis/redis.sock");
  EXPECT_EQ(e.db, 0);
}

TEST(ParseRedisUrl, ReadsTheDatabaseOfAUnixSocket) {
  EXPECT_EQ(Parse("unix:///tmp/r.sock?db=3").db, 3);
  RedisEndpoint e = Parse("redis+unix:///tmp/r.sock?db=4");
  EXPECT_EQ(e.path, "/tmp/r.sock");
  EXPECT_EQ(e.db, 4);
}

TEST(ParseRedisUrl, ReadsCredentialsOfAUnixSocketFromTheQuery) {
  RedisEndpoint e = Parse("unix:///tmp/r.sock?password=a%26b&username=app&db=1");
  EXPECT_EQ(e.password, "a&b");
  EXPECT_EQ(e.username, "app");
  EXPECT_EQ(e.db, 1);
}

TEST(ParseRedisUrl, PercentDecodesTheSocketPath) {
  EXPECT_EQ(Parse("unix:///tmp/my%20redis.sock").path, "/tmp/my redis.sock");
}

// --- refusals ----------------------------------------------------------------------------------

TEST(ParseRedisUrl, RefusesTls) {
  EXPECT_EQ(Refusal("rediss://h:6380"), "rediss:// (TLS) is not supported");
}

TEST(ParseRedisUrl, RefusesOtherSchemes) {
  EXPECT_NE(Refusal("http://h:6379").find("\"http://\""), std::string::npos);
  EXPECT_NE(Refusal("memcached://h").find("unsupported scheme"), std::string::npos);
}

TEST(ParseRedisUrl, RefusesSomethingThatIsNotAUrl) {
  Refusal("");
  Refusal("localhost:6379");
  Refusal("://h");
  Refusal("re dis://h");
  Refusal("garbage");
}

TEST(ParseRedisUrl, RefusesBadPorts) {
  for (const char* url : {"redis://h:0", "redis://h:65536", "redis://h:-1", "redis://h:", "redis://h:6379x",
                          "redis://h:+80", "redis://h: 80", "redis://h:99999999999", "redis://[::1]:0"}) {
    EXPECT_NE(Refusal(url).find("port"), std::string::npos) << url;
  }
}

TEST(ParseRedisUrl, RefusesBadDatabases) {
  for (const char* url : {"redis://h/x", "redis://h/-1", "redis://h/2147483648", "redis://h/1.5",
                          "redis://h?db=", "redis://h?db=x", "unix:///s?db=-2", "redis://h/0x1"}) {
    EXPECT_NE(Refusal(url).find("database"), std::string::npos) << url;
  }
}

TEST(ParseRedisUrl, RefusesADatabaseGivenTwice) {
  EXPECT_NE(Refusal("redis://h/1?db=2").find("more than once"), std::string::npos);
  EXPECT_NE(Refusal("unix:///s?db=1&db=1").find("more than once"), std::string::npos);
}

TEST(ParseRedisUrl, RefusesExtraPathSegments) {
  EXPECT_NE(Refusal("redis://h/1/2").find("path"), std::string::npos);
}

TEST(ParseRedisUrl, RefusesUnknownQueryParametersByName) {
  EXPECT_NE(Refusal("redis://h?bd=2").find("\"bd\""), std::string::npos);
  EXPECT_NE(Refusal("redis://h?password=x").find("\"password\""), std::string::npos);
  EXPECT_NE(Refusal("unix:///s?timeout=5").find("\"timeout\""), std::string::npos);
}

// Found by test/fuzz/redis_url_fuzz.cc: the name was quoted byte for byte, so "unix:///c?\n" gave
// a reason of two lines (Refusal() checks there is one).
TEST(ParseRedisUrl, QuotesAnUnknownParameterNameOnOneLine) {
  EXPECT_NE(Refusal("unix:///c?\n").find("\"\\x0A\""), std::string::npos);
  EXPECT_NE(Refusal("redis://h?a\r\x01\"\\\xff=1").find("\"a\\x0D\\x01\\x22\\x5C\\xFF\""),
            std::string::npos);
}

TEST(ParseRedisUrl, RefusesMalformedPercentEncodingInCredentials) {
  EXPECT_NE(Refusal("redis://:p%zz@h").find("password"), std::string::npos);
  EXPECT_NE(Refusal("redis://u%4:p@h").find("username"), std::string::npos);
}

TEST(ParseRedisUrl, RefusesAUsernameWithoutAPassword) {
  EXPECT_NE(Refusal("redis://app@h").find("password"), std::string::npos);
}

TEST(ParseRedisUrl, RefusesMalformedHosts) {
  Refusal("redis://::1:6379");
  Refusal("redis://[::1");
  Refusal("redis://[]:6379");
  Refusal("redis://[::1]x");
  Refusal("redis://[fe80::1%eth0]");
  Refusal("redis://h st");
  Refusal("redis://h\\x");
}

TEST(ParseRedisUrl, RefusesFragments) {
  Refusal("redis://h#x");
}

TEST(ParseRedisUrl, RefusesUnixUrlsWithoutAnAbsoluteSocketPath) {
  Refusal("unix://");
  Refusal("unix:///");
  Refusal("unix://relative/r.sock");
  Refusal("unix:///run/redis/");
  Refusal("unix:///tmp/a%00b");
}

TEST(ParseRedisUrl, NeverRepeatsThePasswordInTheReason) {
  EXPECT_EQ(Refusal("redis://:hunter2@h:99999").find("hunter2"), std::string::npos);
  EXPECT_EQ(Refusal("redis://:hunter2@h?x=1").find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace respcache
