#include "core/request_key.h"

#include <algorithm>
#include <cstdint>

#include "core/sha256.h"

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

}  // namespace

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
