// libFuzzer target: DecodeEntry on arbitrary bytes (what a GET may bring back from Redis).
// Properties: no crash or undefined behaviour; an accepted entry only holds what its header promises
// (status 200..999, token names, values of HTAB, visible ASCII and UTF-8 U+0080..U+00FF; meta of
// a known kind, strings of well-formed UTF-8 within their limits, vary names that are tokens, an
// identity length a JavaScript number holds); "RCE1..." is always 'outdated'; and the format is
// canonical: re-encoding an accepted entry gives back exactly the input, which then decodes to
// the same entry.
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

// Well-formed UTF-8 (RFC 3629 table), written apart from entry_codec.cc's validator.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; n = 2; }
    else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; n = 3; }
    else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; n = 4; }
    else return false;
    if (s.size() - i < n) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

bool SameEntry(const EntryView& a, const EntryView& b) {
  const auto& m = a.meta;
  const auto& n = b.meta;
  const bool same_gzip = m.gzip.has_value() == n.gzip.has_value() &&
      (!m.gzip || (m.gzip->identity_length == n.gzip->identity_length &&
                   m.gzip->identity_etag == n.gzip->identity_etag));
  return a.status == b.status && a.stored_at_ms == b.stored_at_ms &&
         a.expires_at_ms == b.expires_at_ms && a.headers == b.headers && a.body == b.body &&
         m.kind == n.kind && m.ns == n.ns && m.value_type == n.value_type && m.vary == n.vary &&
         same_gzip && m.route == n.route && m.flags == n.flags;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer hands over an exact-size heap copy, so AddressSanitizer sees any read past the end.
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  EntryView entry;
  const DecodeResult result = DecodeEntry(bytes, &entry);
  FUZZ_CHECK(respcache::DecodeResultName(result) != std::string_view("unknown"));
  FUZZ_CHECK((result == DecodeResult::kOutdated) == (bytes.substr(0, 4) == "RCE1"));
  if (result != DecodeResult::kOk) return 0;

  FUZZ_CHECK(entry.status >= 200 && entry.status <= 999);
  FUZZ_CHECK(entry.headers.size() <= respcache::kMaxHeaders);
  for (const auto& [name, value] : entry.headers) {
    FUZZ_CHECK(IsToken(name));
    FUZZ_CHECK(IsSafeValue(value));
  }
  const auto& meta = entry.meta;
  FUZZ_CHECK(static_cast<int>(meta.kind) <= 2);
  FUZZ_CHECK(!meta.ns || (meta.ns->size() <= 255 && IsUtf8(*meta.ns)));
  FUZZ_CHECK(!meta.value_type || (meta.value_type->size() <= 64 && IsUtf8(*meta.value_type)));
  FUZZ_CHECK(!meta.route || (meta.route->size() <= 2048 && IsUtf8(*meta.route)));
  FUZZ_CHECK(meta.vary.size() <= 64);
  for (std::string_view name : meta.vary) FUZZ_CHECK(IsToken(name) && name.size() <= 255);
  if (meta.gzip) {
    FUZZ_CHECK(meta.gzip->identity_length <= (uint64_t{1} << 53) - 1);
    FUZZ_CHECK(IsSafeValue(meta.gzip->identity_etag) && meta.gzip->identity_etag.size() <= 1024);
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
