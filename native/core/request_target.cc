#include "core/request_target.h"

#include <algorithm>

namespace respcache {
namespace {

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

TargetParts SplitTarget(std::string_view target) {
  TargetParts parts;
  parts.legacy_parse = NeedsLegacyParse(target);
  const std::string_view parsed = parts.legacy_parse ? UrlParseTrim(target) : target;
  const size_t cut = std::min(parsed.find('?'), parsed.find('#'));
  parts.path = parsed.substr(0, cut);
  parts.rest = cut == std::string_view::npos ? std::string_view() : parsed.substr(cut);
  return parts;
}

}  // namespace respcache
