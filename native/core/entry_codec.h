// The stored-entry format: a versioned binary envelope around status, typed metadata, headers and
// body bytes.
//
// Layout "RCE2" (all integers big-endian; [..] is present only when its bit in `present` is set):
//   magic "RCE2" (4) | reserved u8 (0) | status u16 | stored_at_ms i64 | expires_at_ms i64
//   | meta_len u16 | meta (meta_len bytes, below)
//   | header_count u16 | header_count x (name_len u16, name, value_len u32, value)
//   | body_len u32 | body
// meta:
//   kind u8 (0 response, 1 value, 2 vary record)
//   | present u8 (bit 0 ns, bit 1 value_type, bit 2 gzip, bit 3 route; other bits 0)
//   | flags u32 (opaque here: lib's)
//   | [ns_len u8, ns] | [value_type_len u8, value_type]
//   | vary_count u8 | vary_count x (name_len u8, name)
//   | [gzip: identity_length u64, etag_len u16, etag] | [route_len u16, route]
// The fixed fields sit where RCE1 had them (its flags byte is the reserved byte, which a later
// envelope change may use: a non-zero one is corrupt here). The meta section must end exactly at
// meta_len and the value exactly after the body, so every
// entry has one encoding (the fuzzer re-encodes what it decodes and compares bytes).
//
// Decoding treats the bytes as untrusted: whatever came out of Redis may be truncated, foreign
// (another program's key), corrupt, or written by an older respcache ("RCE1": outdated, which lib
// treats as a MISS). The limits below keep a planted entry from costing more than a real one and
// keep every string representable as what JavaScript gets (UTF-8 that round-trips exactly).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace respcache {

enum class EntryKind : uint8_t { kResponse = 0, kValue = 1, kVary = 2 };

// What lib needs to rebuild the identity variant of a stored gzip variant.
struct GzipVariant {
  uint64_t identity_length = 0;        // at most kMaxSafeInteger (a JavaScript number)
  std::string_view identity_etag;      // a header value, possibly empty
};

struct EntryMeta {
  EntryKind kind = EntryKind::kResponse;
  std::optional<std::string_view> ns;          // namespace version the entry was stored under
  std::optional<std::string_view> value_type;  // cache.set()/wrap() value type
  std::vector<std::string_view> vary;          // a vary record's header names (tokens)
  std::optional<GzipVariant> gzip;
  std::optional<std::string_view> route;
  uint32_t flags = 0;
};

struct EntryView {
  uint16_t status = 0;
  int64_t stored_at_ms = 0;
  int64_t expires_at_ms = 0;
  EntryMeta meta;
  // Views into the encoded bytes (decode) or into the caller's data (encode): they live only as
  // long as those bytes do.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

enum class DecodeResult {
  kOk,
  kForeign,      // does not start with a magic of ours
  kTruncated,    // ends before a length says it should
  kCorrupt,      // structurally invalid: bad status, meta or header bytes, trailing bytes
  kOutdated,     // an older format ("RCE1"): valid once, now a MISS to be overwritten
};

constexpr size_t kMaxHeaders = 1024;
constexpr uint32_t kMaxBodyBytes = 0x7fffffff;
// Meta limits, in bytes of UTF-8. ns is a counter or a timestamp, value_type a short word; vary
// names are header names (a request rarely varies on more than a handful); route is lib's route
// id (a path pattern); the etag is an ETag header value.
constexpr size_t kMaxNsBytes = 255;
constexpr size_t kMaxValueTypeBytes = 64;
constexpr size_t kMaxVaryNames = 64;
constexpr size_t kMaxVaryNameBytes = 255;
constexpr size_t kMaxEtagBytes = 1024;
constexpr size_t kMaxRouteBytes = 2048;
constexpr uint64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

// Why `meta` cannot be encoded, naming the field ("meta.vary: ..."), or nullptr when it can.
// Strings must be valid UTF-8 within their limits; vary names RFC 9110 tokens; the etag a value
// a header may carry; the identity length at most kMaxSafeInteger.
const char* MetaProblem(const EntryMeta& meta);

// Encodes `entry`. Returns false (and leaves *out untouched) when the entry cannot be represented:
// status outside 100..999, more than kMaxHeaders headers, a name over 65535 bytes, a body over
// kMaxBodyBytes, header bytes that decoding would reject, or a MetaProblem.
bool EncodeEntry(const EntryView& entry, std::string* out);

// Decodes `bytes` into views that point into `bytes`. On anything but kOk, *out is unspecified.
// Header names must be RFC 9110 tokens and values must not contain CR, LF or NUL, so a planted
// entry can never make the HTTP layer throw or inject headers; meta obeys MetaProblem's rules.
DecodeResult DecodeEntry(std::string_view bytes, EntryView* out);

// "ok", "foreign", "truncated", "corrupt" or "outdated".
const char* DecodeResultName(DecodeResult result);

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF):
// exactly the strings JavaScript turns into UTF-16 and back without a change.
bool IsValidUtf8(std::string_view s);

// The number of UTF-16 code units of valid UTF-8 `s` (its JavaScript .length).
size_t Utf16Length(std::string_view s);

}  // namespace respcache
