// Request-key canonicalisation and hashing. Two requests get the same key exactly when their
// canonical inputs are equal; every part is length-prefixed, so no two different part lists share
// an encoding (["ab","c"] and ["a","bc"] differ).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace respcache {

// Hex SHA-256 of the unambiguous encoding of `parts`: for each part, its length as 8 bytes
// big-endian, then its bytes. This is what JavaScript's hashKey(parts) returns.
std::string HashParts(const std::vector<std::string_view>& parts);

// The unambiguous encoding HashParts hashes (length-prefixed parts, concatenated).
std::string EncodeParts(const std::vector<std::string_view>& parts);

// The inverse of EncodeParts: false when `encoded` is not exactly a sequence of length-prefixed
// parts (a truncated prefix, a length past the end). Bounds-checked; used by tests and the fuzzer
// to show the encoding is injective.
bool DecodeParts(std::string_view encoded, std::vector<std::string>* parts);

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

struct RequestKeyInput {
  std::string_view method;  // caller maps HEAD to GET
  std::string_view host;    // the Host header; lowercased here (host names are case-insensitive)
  std::string_view target;  // the request target as sent (req.originalUrl), never decoded
  // The app's parsed query (req.query) in the canonical text lib/ builds from it. Absent when the
  // request has no parsed query: then the target's raw rest ('?...' and '#...') is keyed as sent.
  std::optional<std::string_view> parsed_query;
  // The path Express routes on at the cache's layer (req.baseUrl + req.path), or absent outside
  // Express. It only enters the key where it is not the target's path: a function of the target
  // unless code before the cache rewrote req.url, which it then separates.
  std::optional<std::string_view> routed_path;
  // Varied request headers: (name, value); names are lowercased and the list is sorted here; an
  // absent header is passed with an empty value by the caller.
  std::vector<std::pair<std::string_view, std::string_view>> vary;
};

// The length-prefixed encoding of a request key's parts, before hashing: a version tag, the
// method, the lowercased host, the target's path, its parse flag, the routed path ("=" when absent
// or equal to the target's path, else ">" + routed path), the query ("q" + parsed query, or "r" +
// raw rest), then the count and pairs of the varied headers.
std::string CanonicalRequestKey(const RequestKeyInput& input);

// Hex SHA-256 of CanonicalRequestKey(input).
std::string RequestKeyHash(const RequestKeyInput& input);

}  // namespace respcache
