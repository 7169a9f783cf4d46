// libFuzzer target: the request-key canonicaliser (request_key.h).
// The input is read with FuzzedDataProvider: method, host, the parsed query and the routed path
// (each when a flag byte at the end says so), up to four varied (name, value) pairs, each as a
// string ending in a backslash and one other byte, then the rest of the input as the request
// target (see make_seeds.cc).
// Properties:
// - SplitTarget cuts the target (trimmed like url.parse() when legacy_parse) into path + rest at
//   the first '?' or '#', and its legacy_parse flag matches the rule in request_key.h, both
//   recomputed here independently;
// - CanonicalRequestKey decodes (DecodeParts) into exactly the parts the header lists, so two
//   inputs share a key only when those parts are equal: the encoding is unambiguous;
// - RequestKeyHash is the hex SHA-256 of that encoding, and HashParts of the parts gives it too;
// - EncodeParts and DecodeParts are inverse on arbitrary part lists, and DecodeParts reads
//   arbitrary bytes within bounds (and accepts only bytes EncodeParts would produce).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "core/request_key.h"
#include "core/sha256.h"

namespace {

using respcache::CanonicalRequestKey;
using respcache::DecodeParts;
using respcache::EncodeParts;
using respcache::RequestKeyInput;
using respcache::SplitTarget;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool Contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// The rule as request_key.h states it: parseurl leaves its fast path for a target that does not
// start with '/' or that holds a tab, LF, FF, CR, space, '#', U+00A0 or U+FEFF (UTF-8) anywhere.
bool ExpectLegacyParse(std::string_view target) {
  if (target.empty() || target[0] != '/') return true;
  return target.find_first_of("\t\n\f\r #") != std::string_view::npos || Contains(target, "\xC2\xA0") ||
         Contains(target, "\xEF\xBB\xBF");
}

// url.parse()'s trimming, written independently of request_key.cc: one character at a time from
// each end while it is below U+0021, U+00A0 (C2 A0) or U+FEFF (EF BB BF).
std::string_view ExpectTrimmed(std::string_view s) {
  for (;;) {
    if (!s.empty() && static_cast<unsigned char>(s.front()) < 0x21) s.remove_prefix(1);
    else if (s.rfind("\xC2\xA0", 0) == 0) s.remove_prefix(2);
    else if (s.rfind("\xEF\xBB\xBF", 0) == 0) s.remove_prefix(3);
    else break;
  }
  auto ends_with = [&s](std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
  };
  for (;;) {
    if (!s.empty() && static_cast<unsigned char>(s.back()) < 0x21) s.remove_suffix(1);
    else if (ends_with("\xC2\xA0")) s.remove_suffix(2);
    else if (ends_with("\xEF\xBB\xBF")) s.remove_suffix(3);
    else break;
  }
  return s;
}

// What the key cuts: the target itself, or url.parse()'s trimmed view of it.
std::string_view ExpectParsed(std::string_view target) {
  return ExpectLegacyParse(target) ? ExpectTrimmed(target) : target;
}

std::string Sha256Hex(std::string_view bytes) {
  respcache::Sha256 sha;
  sha.Update(bytes);
  return respcache::Sha256::Hex(sha.Final());
}

void CheckSplitTarget(std::string_view target) {
  const respcache::TargetParts parts = SplitTarget(target);
  const std::string_view parsed = ExpectParsed(target);
  FUZZ_CHECK(parts.path.data() == parsed.data() || parts.path.empty());
  FUZZ_CHECK(std::string(parts.path) + std::string(parts.rest) == parsed);
  FUZZ_CHECK(parts.path.find_first_of("?#") == std::string_view::npos);
  FUZZ_CHECK(parts.rest.empty() || parts.rest[0] == '?' || parts.rest[0] == '#');
  FUZZ_CHECK(parts.legacy_parse == ExpectLegacyParse(target));
}

// The parts CanonicalRequestKey must encode, built from the header's description alone.
std::vector<std::string> ExpectedParts(const RequestKeyInput& input, const std::string& version) {
  const std::string_view parsed = ExpectParsed(input.target);
  const size_t cut = std::min(parsed.find('?'), parsed.find('#'));
  const std::string_view path = parsed.substr(0, cut);
  const std::string_view rest = cut == std::string_view::npos ? std::string_view() : parsed.substr(cut);
  std::vector<std::pair<std::string, std::string>> vary;
  for (const auto& [name, value] : input.vary) vary.emplace_back(Lower(name), std::string(value));
  std::sort(vary.begin(), vary.end());

  std::vector<std::string> parts = {
      version,
      std::string(input.method),
      Lower(input.host),
      std::string(path),
      ExpectLegacyParse(input.target) ? "legacy" : "fast",
      input.routed_path && *input.routed_path != path ? ">" + std::string(*input.routed_path) : "=",
      input.parsed_query ? "q" + std::string(*input.parsed_query) : "r" + std::string(rest),
      std::to_string(vary.size()),
  };
  for (auto& [name, value] : vary) {
    parts.push_back(std::move(name));
    parts.push_back(std::move(value));
  }
  return parts;
}

std::vector<std::string_view> Views(const std::vector<std::string>& parts) {
  return std::vector<std::string_view>(parts.begin(), parts.end());
}

void CheckRequestKey(const RequestKeyInput& input) {
  const std::string key = CanonicalRequestKey(input);
  std::vector<std::string> decoded;
  FUZZ_CHECK(DecodeParts(key, &decoded));
  FUZZ_CHECK(decoded.size() >= 8);
  // The version tag is the only part not derived from the input: a constant, whatever it says.
  static const std::string version = decoded[0];
  FUZZ_CHECK(version.rfind("respcache-key-v", 0) == 0);
  FUZZ_CHECK(decoded == ExpectedParts(input, version));

  const std::string hash = respcache::RequestKeyHash(input);
  FUZZ_CHECK(hash.size() == 64);
  FUZZ_CHECK(hash == Sha256Hex(key));
  FUZZ_CHECK(hash == respcache::HashParts(Views(decoded)));
}

void CheckPartsCodec(std::string_view bytes, const std::vector<std::string>& list) {
  // Arbitrary bytes: decoded within bounds, and accepted only in the one form EncodeParts writes.
  std::vector<std::string> parts;
  if (DecodeParts(bytes, &parts)) FUZZ_CHECK(EncodeParts(Views(parts)) == bytes);
  // An arbitrary list comes back as it went in.
  FUZZ_CHECK(DecodeParts(EncodeParts(Views(list)), &parts));
  FUZZ_CHECK(parts == list);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  // Flags first: FuzzedDataProvider takes integers from the end, strings from the front.
  const bool has_parsed_query = provider.ConsumeBool();
  const bool has_routed_path = provider.ConsumeBool();
  const size_t vary_count = provider.ConsumeIntegralInRange<size_t>(0, 4);

  std::vector<std::string> strings;  // owns what the input's string_views point at
  strings.reserve(4 + 2 * vary_count + 1);
  strings.push_back(provider.ConsumeRandomLengthString(64));    // method
  strings.push_back(provider.ConsumeRandomLengthString(256));   // host
  if (has_parsed_query) strings.push_back(provider.ConsumeRandomLengthString(1024));
  if (has_routed_path) strings.push_back(provider.ConsumeRandomLengthString(256));
  for (size_t i = 0; i < 2 * vary_count; ++i) strings.push_back(provider.ConsumeRandomLengthString(256));
  strings.push_back(provider.ConsumeRemainingBytesAsString());  // target

  RequestKeyInput input;
  size_t next = 0;
  input.method = strings[next++];
  input.host = strings[next++];
  if (has_parsed_query) input.parsed_query = std::string_view(strings[next++]);
  if (has_routed_path) input.routed_path = std::string_view(strings[next++]);
  for (size_t i = 0; i < vary_count; ++i, next += 2) input.vary.emplace_back(strings[next], strings[next + 1]);
  input.target = strings[next];

  CheckSplitTarget(input.target);
  CheckRequestKey(input);
  CheckPartsCodec(std::string_view(reinterpret_cast<const char*>(data), size), strings);
  return 0;
}
