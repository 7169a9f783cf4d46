#include "redis/redis_url.h"

#include <cstdint>
#include <utility>

namespace respcache {
namespace {

// Error messages never repeat the URL: it may hold a password and they end up in logs.

constexpr int64_t kMaxDb = 0x7fffffff;

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view s, const char* what, std::string* out, std::string* error) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    int hi = s.size() - i >= 3 ? HexValue(s[i + 1]) : -1;
    int lo = s.size() - i >= 3 ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      *error = std::string("malformed percent-encoding in the ") + what;
      return false;
    }
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Decimal digits only: no sign, no spaces, no hex, so "0x10" or " 1" cannot slip through.
bool ParseDecimal(std::string_view s, int64_t max, int64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool ParseDb(std::string_view s, int* db, std::string* error) {
  int64_t v;
  if (!ParseDecimal(s, kMaxDb, &v)) {
    *error = "the database must be a decimal number from 0 to 2147483647";
    return false;
  }
  *db = static_cast<int>(v);
  return true;
}

// A name taken from the URL, quoted for an error message: printable ASCII stays, any other byte
// (and '"' or '\\') becomes \xHH, so the reason stays one line of text whatever the URL holds.
std::string Quoted(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  out.push_back('"');
  return out;
}

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool IsIpv6Char(char c) {
  return HexValue(c) >= 0 || c == ':' || c == '.';
}

// host[:port] or [IPv6][:port]. An empty host means the local server, as redis-cli assumes.
bool ParseHostPort(std::string_view s, RedisEndpoint* e, std::string* error) {
  std::string_view host;
  std::string_view rest;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) {
      *error = "an IPv6 address is missing its closing ']'";
      return false;
    }
    host = s.substr(1, close - 1);
    if (host.empty()) {
      *error = "the IPv6 address between '[' and ']' is empty";
      return false;
    }
    for (char c : host) {
      if (!IsIpv6Char(c)) {
        *error = "invalid character in the IPv6 address";
        return false;
      }
    }
    rest = s.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') {
      *error = "unexpected characters after the IPv6 address";
      return false;
    }
  } else {
    size_t colon = s.find(':');
    host = s.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
    if (rest.size() > 1 && rest.find(':', 1) != std::string_view::npos) {
      *error = "an IPv6 host must be written in brackets, as in redis://[::1]:6379";
      return false;
    }
    for (char c : host) {
      if (!IsHostNameChar(c)) {
        *error = "invalid character in the host name";
        return false;
      }
    }
  }
  if (!host.empty()) e->host = std::string(host);
  if (!rest.empty()) {
    int64_t port;
    if (!ParseDecimal(rest.substr(1), 65535, &port) || port == 0) {
      *error = "the port must be a decimal number from 1 to 65535";
      return false;
    }
    e->port = static_cast<int>(port);
  }
  return true;
}

// Only parameters we understand are accepted: a misspelt "?bd=2" silently using database 0 would
// be worse than an error at startup.
bool ParseQuery(std::string_view query, bool allow_credentials, bool db_in_path, RedisEndpoint* e,
                std::string* error) {
  bool seen_db = db_in_path, seen_password = false, seen_username = false;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view param = query.substr(start, end - start);
    start = end + 1;
    if (param.empty()) continue;
    size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    std::string_view raw = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    std::string value;
    if (name == "db") {
      if (seen_db) {
        *error = "the database is given more than once";
        return false;
      }
      seen_db = true;
      if (!PercentDecode(raw, "database", &value, error) || !ParseDb(value, &e->db, error)) {
        return false;
      }
    } else if (allow_credentials && name == "password") {
      if (seen_password) {
        *error = "the password is given more than once";
        return false;
      }
      seen_password = true;
      if (!PercentDecode(raw, "password", &e->password, error)) return false;
    } else if (allow_credentials && name == "username") {
      if (seen_username) {
        *error = "the username is given more than once";
        return false;
      }
      seen_username = true;
      if (!PercentDecode(raw, "username", &e->username, error)) return false;
    } else {
      *error = "unknown query parameter " + Quoted(name) + " (expected " +
               (allow_credentials ? "db, username or password)" : "db)");
      return false;
    }
  }
  return true;
}

bool ParseTcp(std::string_view rest, RedisEndpoint* e, std::string* error) {
  std::string_view query;
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

  // The last '@' ends the credentials, so an unencoded '@' in a password still parses.
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      *error = "credentials must be written as [username]:password@ (a username needs a password)";
      return false;
    }
    if (!PercentDecode(userinfo.substr(0, colon), "username", &e->username, error) ||
        !PercentDecode(userinfo.substr(colon + 1), "password", &e->password, error)) {
      return false;
    }
  }
  if (!ParseHostPort(authority, e, error)) return false;

  bool db_in_path = path.size() > 1;
  if (db_in_path) {
    std::string_view db = path.substr(1);
    if (db.find('/') != std::string_view::npos) {
      *error = "the path must be a single database number, as in redis://host:6379/2";
      return false;
    }
    if (!ParseDb(db, &e->db, error)) return false;
  }
  return ParseQuery(query, /*allow_credentials=*/false, db_in_path, e, error);
}

bool ParseUnix(std::string_view rest, RedisEndpoint* e, std::string* error) {
  std::string_view query;
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.empty() || rest[0] != '/') {
    *error = "a unix socket URL needs an absolute path, as in unix:///run/redis.sock";
    return false;
  }
  if (!PercentDecode(rest, "socket path", &e->path, error)) return false;
  if (e->path.size() < 2 || e->path.back() == '/') {
    *error = "the unix socket path names a directory, not a socket";
    return false;
  }
  if (e->path.find('\0') != std::string::npos) {
    *error = "the unix socket path contains a NUL byte";
    return false;
  }
  return ParseQuery(query, /*allow_credentials=*/true, /*db_in_path=*/false, e, error);
}

}  // namespace

bool ParseRedisUrl(std::string_view url, RedisEndpoint* out, std::string* error) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    *error = "expected a URL such as redis://127.0.0.1:6379 or unix:///run/redis.sock";
    return false;
  }
  if (url.find('#') != std::string_view::npos) {
    *error = "a Redis URL cannot have a fragment ('#'); percent-encode it as %23 in a password";
    return false;
  }
  std::string scheme;
  for (char c : url.substr(0, sep)) {
    c = AsciiLower(c);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
      *error = "expected a URL such as redis://127.0.0.1:6379 or unix:///run/redis.sock";
      return false;
    }
    scheme.push_back(c);
  }
  std::string_view rest = url.substr(sep + 3);

  RedisEndpoint e;
  bool ok;
  if (scheme == "redis") {
    ok = ParseTcp(rest, &e, error);
  } else if (scheme == "unix" || scheme == "redis+unix") {
    ok = ParseUnix(rest, &e, error);
  } else if (scheme == "rediss") {
    *error = "rediss:// (TLS) is not supported";
    ok = false;
  } else {
    *error = "unsupported scheme \"" + scheme + "://\" (expected redis://, unix:// or redis+unix://)";
    ok = false;
  }
  if (!ok) return false;
  *out = std::move(e);
  return true;
}

}  // namespace respcache
