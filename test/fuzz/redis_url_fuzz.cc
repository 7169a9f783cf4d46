// libFuzzer target: ParseRedisUrl on arbitrary bytes (a REDIS_URL from the environment).
// Properties, from redis_url.h: no crash or undefined behaviour; a refusal leaves the endpoint
// alone and gives a one-line reason; an accepted URL names a usable endpoint (a redis:// host
// that cannot smuggle a path, query or credentials, a port 1..65535, an absolute socket path with
// no NUL) and survives a round trip: the endpoint written back as a canonical URL parses to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "redis/redis_url.h"

namespace {

using respcache::ParseRedisUrl;
using respcache::RedisEndpoint;

bool Same(const RedisEndpoint& a, const RedisEndpoint& b) {
  return a.host == b.host && a.port == b.port && a.path == b.path && a.username == b.username &&
         a.password == b.password && a.db == b.db;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// Percent-encodes every byte but ALPHA / DIGIT / "-" / "." / "_" / "~" and those in `keep`.
std::string Encode(std::string_view s, std::string_view keep = {}) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '-' || c == '.' || c == '_' || c == '~' ||
                       keep.find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string Canonical(const RedisEndpoint& e) {
  if (!e.path.empty()) {
    return "unix://" + Encode(e.path, "/") + "?db=" + std::to_string(e.db) +
           "&username=" + Encode(e.username) + "&password=" + Encode(e.password);
  }
  std::string url = "redis://";
  if (!e.username.empty() || !e.password.empty()) url += Encode(e.username) + ":" + Encode(e.password) + "@";
  url += e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
  return url + ":" + std::to_string(e.port) + "/" + std::to_string(e.db);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  RedisEndpoint endpoint;
  endpoint.host = "untouched";
  std::string error;
  if (!ParseRedisUrl(url, &endpoint, &error)) {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(error.find('\n') == std::string::npos && error.find('\r') == std::string::npos);
    FUZZ_CHECK(endpoint.host == "untouched");
    return 0;
  }

  const size_t sep = url.find("://");
  FUZZ_CHECK(sep != std::string_view::npos);
  const std::string scheme = Lower(url.substr(0, sep));
  FUZZ_CHECK(url.find('#') == std::string_view::npos);
  FUZZ_CHECK(endpoint.db >= 0);
  if (scheme == "unix" || scheme == "redis+unix") {
    const std::string& path = endpoint.path;
    FUZZ_CHECK(path.size() >= 2 && path[0] == '/' && path.back() != '/');
    FUZZ_CHECK(path.find('\0') == std::string::npos);
  } else {
    FUZZ_CHECK(scheme == "redis");
    FUZZ_CHECK(endpoint.path.empty());
    FUZZ_CHECK(endpoint.port >= 1 && endpoint.port <= 65535);
    FUZZ_CHECK(!endpoint.host.empty());
    // A host name or an IPv6 address, never anything a resolver or log line would misread.
    for (char c : endpoint.host) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      c == '-' || c == '.' || c == '_' || c == ':';
      FUZZ_CHECK(ok);
    }
  }

  RedisEndpoint again;
  std::string again_error;
  const std::string canonical = Canonical(endpoint);
  FUZZ_CHECK(ParseRedisUrl(canonical, &again, &again_error));
  FUZZ_CHECK(Same(endpoint, again));
  return 0;
}
