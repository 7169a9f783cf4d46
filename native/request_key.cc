#include "request_key.h"

#include <algorithm>
#include <cstdint>

#include "sha256.h"

namespace respcache {
namespace {

// Bumping the tag retires every stored key at once, which is what a change to these rules needs.
// v2: the path is keyed as sent (v1 decoded escapes of unreserved characters) and the query as the
// app parsed it (v1 form-decoded the raw query itself).
constexpr std::string_view kKeyVersion = "respcache-key-v2";

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

void AppendLength(std::string* out, uint64_t n) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(static_cast<uint8_t>(n >> (56 - 8 * i))));
}

// Whether parseurl's fast path gives up on `target` (see TargetParts::legacy_parse).
bool NeedsLegacyParse(std::string_view target) {
  if (target.empty() || target[0] != '/') return true;
  for (size_t i = 1; i < target.size(); ++i) {
    const auto c = static_cast<unsigned char>(target[i]);
    switch (c) {
      case '\t': case '\n': case '\f': case '\r': case ' ': case '#':
        return true;
      case 0xC2:  // U+00A0 is C2 A0 in UTF-8
        if (i + 1 < target.size() && static_cast<unsigned char>(target[i + 1]) == 0xA0) return true;
        break;
      case 0xEF:  // U+FEFF is EF BB BF
        if (i + 2 < target.size() && static_cast<unsigned char>(target[i + 1]) == 0xBB &&
            static_cast<unsigned char>(target[i + 2]) == 0xBF) {
          return true;
        }
        break;
      default:
        break;
    }
  }
  return false;
}

bool IsUrlParseSpaceAt(std::string_view s, size_t i, size_t* len) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x21) {
    *len = 1;
    return true;
  }
  if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0) {
    *len = 2;
    return true;
  }
  if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBB &&
      static_cast<unsigned char>(s[i + 2]) == 0xBF) {
    *len = 3;
    return true;
  }
  return false;
}

// Whether `s` ends with a character url.parse() trims; its byte length in *len.
bool EndsWithUrlParseSpace(std::string_view s, size_t* len) {
  if (s.empty()) return false;
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}}) {
    if (s.size() >= n && IsUrlParseSpaceAt(s, s.size() - n, len) && *len == n) return true;
  }
  return false;
}

// What Node's legacy url.parse() keeps of a target: it trims leading and trailing characters
// below U+0021, U+00A0 and U+FEFF (the fast path of parseurl never sees such a target).
std::string_view UrlParseTrim(std::string_view s) {
  size_t len = 0;
  while (!s.empty() && IsUrlParseSpaceAt(s, 0, &len)) s.remove_prefix(len);
  while (EndsWithUrlParseSpace(s, &len)) s.remove_suffix(len);
  return s;
}

}  // namespace

std::string EncodeParts(const std::vector<std::string_view>& parts) {
  size_t total = 0;
  for (std::string_view part : parts) total += 8 + part.size();
  std::string out;
  out.reserve(total);
  for (std::string_view part : parts) {
    AppendLength(&out, part.size());
    out.append(part);
  }
  return out;
}

bool DecodeParts(std::string_view encoded, std::vector<std::string>* parts) {
  parts->clear();
  size_t pos = 0;
  while (pos < encoded.size()) {
    if (encoded.size() - pos < 8) return false;
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | static_cast<uint8_t>(encoded[pos + i]);
    pos += 8;
    if (n > encoded.size() - pos) return false;
    parts->emplace_back(encoded.substr(pos, static_cast<size_t>(n)));
    pos += static_cast<size_t>(n);
  }
  return true;
}

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

TargetParts SplitTarget(std::string_view target) {
  TargetParts parts;
  parts.legacy_parse = NeedsLegacyParse(target);
  const std::string_view parsed = parts.legacy_parse ? UrlParseTrim(target) : target;
  const size_t cut = std::min(parsed.find('?'), parsed.find('#'));
  parts.path = parsed.substr(0, cut);
  parts.rest = cut == std::string_view::npos ? std::string_view() : parsed.substr(cut);
  return parts;
}

std::string CanonicalRequestKey(const RequestKeyInput& input) {
  const std::string host = AsciiLower(input.host);
  const TargetParts target = SplitTarget(input.target);

  std::vector<std::pair<std::string, std::string_view>> vary;
  vary.reserve(input.vary.size());
  for (const auto& [name, value] : input.vary) vary.emplace_back(AsciiLower(name), value);
  // Sorting by value too makes the key independent of the caller's order even if a name repeats.
  std::sort(vary.begin(), vary.end());

  // The query part says which form it has, so a parsed query never meets a raw one.
  std::string query;
  if (input.parsed_query.has_value()) {
    query.reserve(1 + input.parsed_query->size());
    query.push_back('q');
    query.append(*input.parsed_query);
  } else {
    query.reserve(1 + target.rest.size());
    query.push_back('r');
    query.append(target.rest);
  }
  const std::string vary_count = std::to_string(vary.size());
  std::string routed = "=";
  if (input.routed_path.has_value() && *input.routed_path != target.path) {
    routed = ">";
    routed.append(*input.routed_path);
  }

  std::vector<std::string_view> parts;
  parts.reserve(8 + 2 * vary.size());
  parts.push_back(kKeyVersion);
  parts.push_back(input.method);
  parts.push_back(host);
  parts.push_back(target.path);
  parts.push_back(target.legacy_parse ? "legacy" : "fast");
  parts.push_back(routed);
  parts.push_back(query);
  parts.push_back(vary_count);
  for (const auto& [name, value] : vary) {
    parts.push_back(name);
    parts.push_back(value);
  }
  return EncodeParts(parts);
}

std::string RequestKeyHash(const RequestKeyInput& input) {
  Sha256 sha;
  sha.Update(CanonicalRequestKey(input));
  return Sha256::Hex(sha.Final());
}

}  // namespace respcache
