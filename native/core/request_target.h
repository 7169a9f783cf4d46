// A request target cut the way Express routes it: parseurl's fast path, or Node's legacy
// url.parse() (with its trimming) when the fast path gives up. The request key keys the path as
// cut here, so two targets Express routes differently never share a key.
#pragma once
#include <string_view>

namespace respcache {

// A request target (req.originalUrl) cut the way Express's URL parser (parseurl) cuts it.
struct TargetParts {
  // Up to the first '?' or '#', byte for byte: never decoded or normalised. When legacy_parse is
  // set, cut from the target with url.parse()'s trimming applied first (leading and trailing
  // bytes below 0x21, U+00A0 and U+FEFF), so "/a " and "/a ?" (routed as /a and /a%20) differ.
  std::string_view path;
  // The rest: empty, or starting with '?' or '#'.
  std::string_view rest;
  // True when parseurl hands this target to Node's legacy url.parse() instead of its fast path:
  // the target does not start with '/', or holds a tab, LF, FF, CR, space, '#', U+00A0 or U+FEFF
  // (as UTF-8) anywhere. url.parse() turns '\' into '/' and escapes some characters in the path,
  // so the same path bytes route differently with and without this flag.
  bool legacy_parse;
};

TargetParts SplitTarget(std::string_view target);

}  // namespace respcache
