// The stored-entry format: a versioned binary envelope around status, headers and body bytes.
//
// Layout (all integers big-endian):
//   magic "RCE1" (4) | flags u8 (0) | status u16 | stored_at_ms i64 | expires_at_ms i64
//   | header_count u16 | header_count x (name_len u16, name, value_len u32, value)
//   | body_len u32 | body
// The value must end exactly after the body. Decoding treats the bytes as untrusted: whatever
// came out of Redis may be truncated, foreign (another program's key) or corrupt.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace respcache {

struct EntryView {
  uint16_t status = 0;
  int64_t stored_at_ms = 0;
  int64_t expires_at_ms = 0;
  // Views into the encoded bytes (decode) or into the caller's data (encode): they live only as
  // long as those bytes do.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

enum class DecodeResult {
  kOk,
  kForeign,      // does not start with the magic: not ours
  kTruncated,    // ends before a length says it should
  kCorrupt,      // structurally invalid: bad status, header bytes Node would refuse, trailing bytes
};

constexpr size_t kMaxHeaders = 1024;
constexpr uint32_t kMaxBodyBytes = 0x7fffffff;

// Encodes `entry`. Returns false (and leaves *out untouched) when the entry cannot be represented:
// status outside 100..999, more than kMaxHeaders headers, a name over 65535 bytes, a body over
// kMaxBodyBytes, or header bytes that decoding would reject.
bool EncodeEntry(const EntryView& entry, std::string* out);

// Decodes `bytes` into views that point into `bytes`. On anything but kOk, *out is unspecified.
// Header names must be RFC 9110 tokens and values must not contain CR, LF or NUL, so a planted
// entry can never make the HTTP layer throw or inject headers.
DecodeResult DecodeEntry(std::string_view bytes, EntryView* out);

const char* DecodeResultName(DecodeResult result);

}  // namespace respcache
