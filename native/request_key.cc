#include "request_key.h"

#include <algorithm>
#include <cstdint>

#include "sha256.h"

namespace respcache {
namespace {

// Bumping the tag retires every stored key at once, which is what a change to these rules needs.
constexpr std::string_view kKeyVersion = "respcache-key-v1";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decoded byte of "%XX" at s[i], or -1 when s[i] does not start a well-formed escape.
int PercentEscapeAt(std::string_view s, size_t i) {
  if (s[i] != '%' || s.size() - i < 3) return -1;
  int hi = HexValue(s[i + 1]);
  int lo = HexValue(s[i + 2]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

bool IsUnreserved(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

std::string FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int decoded = PercentEscapeAt(s, i);
    if (decoded >= 0) {
      out.push_back(static_cast<char>(decoded));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

}  // namespace

std::string HashParts(const std::vector<std::string_view>& parts) {
  Sha256 sha;
  for (std::string_view part : parts) {
    uint8_t len[8];
    const uint64_t n = part.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
    sha.Update(len, sizeof(len));
    sha.Update(part);
  }
  return Sha256::Hex(sha.Final());
}

std::string NormalizePath(std::string_view path) {
  static constexpr char kUpperHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    int decoded = PercentEscapeAt(path, i);
    if (decoded < 0) {
      out.push_back(path[i]);
      continue;
    }
    // Reserved characters stay encoded: "%2F" is data, "/" is a separator.
    if (IsUnreserved(decoded)) {
      out.push_back(static_cast<char>(decoded));
    } else {
      out.push_back('%');
      out.push_back(kUpperHex[decoded >> 4]);
      out.push_back(kUpperHex[decoded & 0x0f]);
    }
    i += 2;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> CanonicalQuery(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view segment = raw.substr(start, end - start);
    start = end + 1;
    if (segment.empty()) continue;
    size_t eq = segment.find('=');
    if (eq == std::string_view::npos) {
      pairs.emplace_back(FormDecode(segment), std::string());
    } else {
      pairs.emplace_back(FormDecode(segment.substr(0, eq)), FormDecode(segment.substr(eq + 1)));
    }
  }
  // Stable: "a=1&a=2" and "a=2&a=1" may mean different things to the app, so they keep their order.
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  return pairs;
}

std::string RequestKeyHash(const RequestKeyInput& input) {
  const std::string host = AsciiLower(input.host);
  const std::string path = NormalizePath(input.path);
  const auto query = CanonicalQuery(input.query);

  std::vector<std::pair<std::string, std::string_view>> vary;
  vary.reserve(input.vary.size());
  for (const auto& [name, value] : input.vary) vary.emplace_back(AsciiLower(name), value);
  // Sorting by value too makes the key independent of the caller's order even if a name repeats.
  std::sort(vary.begin(), vary.end());

  const std::string query_count = std::to_string(query.size());
  const std::string vary_count = std::to_string(vary.size());

  std::vector<std::string_view> parts;
  parts.reserve(7 + 2 * query.size() + 2 * vary.size());
  parts.push_back(kKeyVersion);
  parts.push_back(input.method);
  parts.push_back(host);
  parts.push_back(path);
  parts.push_back(query_count);
  for (const auto& [name, value] : query) {
    parts.push_back(name);
    parts.push_back(value);
  }
  parts.push_back(vary_count);
  for (const auto& [name, value] : vary) {
    parts.push_back(name);
    parts.push_back(value);
  }
  return HashParts(parts);
}

}  // namespace respcache
