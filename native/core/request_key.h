// Request-key canonicalisation and hashing. Two requests get the same key exactly when their
// canonical inputs are equal (the parts are length-prefixed: core/key_parts.h).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/key_parts.h"
#include "core/request_target.h"

namespace respcache {

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
