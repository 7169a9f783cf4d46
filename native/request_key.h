// Request-key canonicalisation and hashing. Two requests get the same key exactly when their
// canonical inputs are equal; every part is length-prefixed, so no two different part lists share
// an encoding (["ab","c"] and ["a","bc"] differ).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace respcache {

// Hex SHA-256 of the unambiguous encoding of `parts`: for each part, its length as 8 bytes
// big-endian, then its bytes. This is what JavaScript's hashKey(parts) returns.
std::string HashParts(const std::vector<std::string_view>& parts);

struct RequestKeyInput {
  std::string_view method;  // caller maps HEAD to GET
  std::string_view host;    // lowercased here
  std::string_view path;    // req.baseUrl + req.path, raw (still percent-encoded)
  std::string_view query;   // raw query string without the '?', may be empty
  // Varied request headers: (name, value); names are lowercased and the list is sorted by name
  // here; an absent header is passed with an empty value by the caller.
  std::vector<std::pair<std::string_view, std::string_view>> vary;
};

// RFC 3986 normalisation of percent-encoding in a path: %XX of an unreserved character
// (ALPHA / DIGIT / "-" / "." / "_" / "~") is decoded, other %XX get upper-case hex, a malformed
// '%' stays as it is.
std::string NormalizePath(std::string_view path);

// Query parameters as (name, value) pairs, decoded as application/x-www-form-urlencoded ('+' is a
// space, %XX decoded; a malformed '%' stays literal), empty segments dropped, "a" equal to "a=",
// stably sorted by name (byte order) so repeated names keep their order.
std::vector<std::pair<std::string, std::string>> CanonicalQuery(std::string_view raw);

// Hex SHA-256 over a version tag, the method, lowercased host, normalised path, canonical query
// pairs and the varied headers, all through HashParts with counts before each list.
std::string RequestKeyHash(const RequestKeyInput& input);

}  // namespace respcache
