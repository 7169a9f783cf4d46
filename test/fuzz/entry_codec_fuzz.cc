// libFuzzer target: DecodeEntry on arbitrary bytes (what a GET may bring back from Redis).
// Properties: no crash or undefined behaviour; an accepted entry only holds what its header promises
// (status 200..999, token names, values of HTAB, visible ASCII and UTF-8 U+0080..U+00FF); and the
// format is canonical:
// re-encoding an accepted entry gives back exactly the input, which then decodes to the same entry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/entry_codec.h"
#include "fuzz_check.h"

namespace {

using respcache::DecodeEntry;
using respcache::DecodeResult;
using respcache::EncodeEntry;
using respcache::EntryView;

// Written from RFC 9110 section 5.6.2, not shared with entry_codec.cc, so both can't be wrong alike.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// What setHeader accepts once UTF-8 became a JS string: HTAB, visible ASCII, U+0080..U+00FF.
bool IsSafeValue(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\t' || (c >= 0x20 && c <= 0x7e)) continue;
    if ((c != 0xc2 && c != 0xc3) || i + 1 >= s.size()) return false;
    const auto next = static_cast<unsigned char>(s[++i]);
    if (next < 0x80 || next > 0xbf) return false;
  }
  return true;
}

bool SameEntry(const EntryView& a, const EntryView& b) {
  return a.status == b.status && a.stored_at_ms == b.stored_at_ms &&
         a.expires_at_ms == b.expires_at_ms && a.headers == b.headers && a.body == b.body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer hands over an exact-size heap copy, so AddressSanitizer sees any read past the end.
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  EntryView entry;
  const DecodeResult result = DecodeEntry(bytes, &entry);
  FUZZ_CHECK(respcache::DecodeResultName(result) != std::string_view("unknown"));
  if (result != DecodeResult::kOk) return 0;

  FUZZ_CHECK(entry.status >= 200 && entry.status <= 999);
  FUZZ_CHECK(entry.headers.size() <= respcache::kMaxHeaders);
  for (const auto& [name, value] : entry.headers) {
    FUZZ_CHECK(IsToken(name));
    FUZZ_CHECK(IsSafeValue(value));
  }
  // The views point into the input.
  FUZZ_CHECK(entry.body.empty() ||
             (entry.body.data() >= bytes.data() && entry.body.data() + entry.body.size() == bytes.data() + bytes.size()));

  std::string encoded;
  FUZZ_CHECK(EncodeEntry(entry, &encoded));
  FUZZ_CHECK(encoded == bytes);

  EntryView again;
  FUZZ_CHECK(DecodeEntry(encoded, &again) == DecodeResult::kOk);
  FUZZ_CHECK(SameEntry(entry, again));
  return 0;
}
