#include "core/entry_codec.h"

#include <cstring>
#include <limits>

namespace respcache {
namespace {

constexpr std::string_view kMagic = "RCE2";
constexpr std::string_view kOutdatedMagic = "RCE1";
constexpr size_t kFixedHeadBytes = 4 + 1 + 2 + 8 + 8 + 2 + 2;  // magic .. meta_len, header_count
constexpr size_t kMetaFixedBytes = 1 + 1 + 4 + 1;          // kind, present, flags, vary_count
constexpr uint8_t kHasNs = 1, kHasValueType = 2, kHasGzip = 4, kHasRoute = 8;
constexpr uint8_t kKnownPresent = kHasNs | kHasValueType | kHasGzip | kHasRoute;
constexpr size_t kPerHeaderBytes = 2 + 4;
constexpr size_t kBodyLenBytes = 4;

bool IsTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// RFC 9110 token: what Node's setHeader accepts as a name.
bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A value Node's setHeader accepts once the binding has turned its UTF-8 into a JS string: HTAB,
// visible ASCII, and U+0080..U+00FF (obs-text), which UTF-8 spells C2 80..C3 BF. Rejecting CR and
// LF is what stops a planted entry from splitting the response; rejecting any other byte (invalid
// UTF-8 would become U+FFFD, other characters are above U+00FF) keeps setHeader from throwing
// half-way through a HIT.
bool IsValidValue(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '\t' || (c >= 0x20 && c <= 0x7e)) continue;
    if ((c == 0xc2 || c == 0xc3) && i + 1 < value.size()) {
      unsigned char next = static_cast<unsigned char>(value[i + 1]);
      if (next >= 0x80 && next <= 0xbf) {
        ++i;
        continue;
      }
    }
    return false;
  }
  return true;
}

// A final status: Node writes 100..199 as interim responses, which a HIT must never be.
bool IsValidStatus(uint16_t status) { return status >= 200 && status <= 999; }

template <size_t N>
void AppendBe(uint64_t v, std::string* out) {
  char bytes[N];
  for (size_t i = 0; i < N; ++i) bytes[i] = static_cast<char>(v >> (8 * (N - 1 - i)));
  out->append(bytes, N);
}

// Bounds-checked big-endian cursor over untrusted bytes. Every read first checks that enough
// bytes remain, so a length field can never move it past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  size_t remaining() const { return bytes_.size() - pos_; }

  template <size_t N>
  bool ReadBe(uint64_t* v) {
    if (remaining() < N) return false;
    unsigned char raw[N];
    std::memcpy(raw, bytes_.data() + pos_, N);
    pos_ += N;
    uint64_t acc = 0;
    for (size_t i = 0; i < N; ++i) acc = (acc << 8) | raw[i];
    *v = acc;
    return true;
  }

  bool ReadBytes(uint64_t len, std::string_view* out) {
    if (remaining() < len) return false;
    *out = bytes_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return true;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};


bool IsValidString(std::string_view s, size_t max_bytes) {
  return s.size() <= max_bytes && IsValidUtf8(s);
}

uint8_t PresentBits(const EntryMeta& m) {
  return static_cast<uint8_t>((m.ns ? kHasNs : 0) | (m.value_type ? kHasValueType : 0) |
                              (m.gzip ? kHasGzip : 0) | (m.route ? kHasRoute : 0));
}

size_t MetaBytes(const EntryMeta& m) {
  size_t n = kMetaFixedBytes;
  if (m.ns) n += 1 + m.ns->size();
  if (m.value_type) n += 1 + m.value_type->size();
  for (std::string_view name : m.vary) n += 1 + name.size();
  if (m.gzip) n += 8 + 2 + m.gzip->identity_etag.size();
  if (m.route) n += 2 + m.route->size();
  return n;
}

// Reads the meta section; false means corrupt (its own lengths disagree with meta_len, or a
// field breaks a MetaProblem rule).
bool DecodeMeta(std::string_view bytes, EntryMeta* m) {
  Reader r(bytes);
  uint64_t kind, present, flags, len, vary_count;
  if (!r.ReadBe<1>(&kind) || kind > static_cast<uint8_t>(EntryKind::kVary)) return false;
  if (!r.ReadBe<1>(&present) || (present & ~uint64_t{kKnownPresent}) != 0) return false;
  if (!r.ReadBe<4>(&flags)) return false;
  m->kind = static_cast<EntryKind>(kind);
  m->flags = static_cast<uint32_t>(flags);
  m->ns.reset();
  m->value_type.reset();
  m->gzip.reset();
  m->route.reset();
  m->vary.clear();
  std::string_view s;
  if (present & kHasNs) {
    if (!r.ReadBe<1>(&len) || !r.ReadBytes(len, &s)) return false;
    m->ns = s;
  }
  if (present & kHasValueType) {
    if (!r.ReadBe<1>(&len) || !r.ReadBytes(len, &s)) return false;
    m->value_type = s;
  }
  if (!r.ReadBe<1>(&vary_count) || vary_count > kMaxVaryNames) return false;
  m->vary.reserve(static_cast<size_t>(vary_count));
  for (uint64_t i = 0; i < vary_count; ++i) {
    if (!r.ReadBe<1>(&len) || !r.ReadBytes(len, &s)) return false;
    m->vary.push_back(s);
  }
  if (present & kHasGzip) {
    GzipVariant g;
    if (!r.ReadBe<8>(&g.identity_length) || !r.ReadBe<2>(&len) || !r.ReadBytes(len, &s)) {
      return false;
    }
    g.identity_etag = s;
    m->gzip = g;
  }
  if (present & kHasRoute) {
    if (!r.ReadBe<2>(&len) || !r.ReadBytes(len, &s)) return false;
    m->route = s;
  }
  return r.remaining() == 0 && MetaProblem(*m) == nullptr;
}

}  // namespace

bool EncodeEntry(const EntryView& entry, std::string* out) {
  if (!IsValidStatus(entry.status)) return false;
  if (MetaProblem(entry.meta) != nullptr) return false;
  if (entry.headers.size() > kMaxHeaders) return false;
  if (entry.body.size() > kMaxBodyBytes) return false;
  // Summed in 64 bits so the size check below cannot be defeated by wrap-around.
  const size_t meta_bytes = MetaBytes(entry.meta);  // under 64 KiB: MetaProblem checked the limits
  uint64_t total = kFixedHeadBytes + meta_bytes + kBodyLenBytes + uint64_t{entry.body.size()};
  for (const auto& [name, value] : entry.headers) {
    if (name.size() > std::numeric_limits<uint16_t>::max() ||
        value.size() > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    if (!IsValidName(name) || !IsValidValue(value)) return false;
    total += kPerHeaderBytes + uint64_t{name.size()} + uint64_t{value.size()};
  }
  if (total > out->max_size()) return false;

  out->clear();
  out->reserve(static_cast<size_t>(total));
  out->append(kMagic);
  AppendBe<1>(0, out);  // reserved
  AppendBe<2>(entry.status, out);
  AppendBe<8>(static_cast<uint64_t>(entry.stored_at_ms), out);
  AppendBe<8>(static_cast<uint64_t>(entry.expires_at_ms), out);
  const EntryMeta& m = entry.meta;
  AppendBe<2>(meta_bytes, out);
  AppendBe<1>(static_cast<uint8_t>(m.kind), out);
  AppendBe<1>(PresentBits(m), out);
  AppendBe<4>(m.flags, out);
  if (m.ns) {
    AppendBe<1>(m.ns->size(), out);
    out->append(*m.ns);
  }
  if (m.value_type) {
    AppendBe<1>(m.value_type->size(), out);
    out->append(*m.value_type);
  }
  AppendBe<1>(m.vary.size(), out);
  for (std::string_view name : m.vary) {
    AppendBe<1>(name.size(), out);
    out->append(name);
  }
  if (m.gzip) {
    AppendBe<8>(m.gzip->identity_length, out);
    AppendBe<2>(m.gzip->identity_etag.size(), out);
    out->append(m.gzip->identity_etag);
  }
  if (m.route) {
    AppendBe<2>(m.route->size(), out);
    out->append(*m.route);
  }
  AppendBe<2>(entry.headers.size(), out);
  for (const auto& [name, value] : entry.headers) {
    AppendBe<2>(name.size(), out);
    out->append(name);
    AppendBe<4>(value.size(), out);
    out->append(value);
  }
  AppendBe<4>(entry.body.size(), out);
  out->append(entry.body);
  return true;
}

DecodeResult DecodeEntry(std::string_view bytes, EntryView* out) {
  // A short value that could still grow into the magic is a cut-off entry, not a stranger's.
  if (bytes.size() < kMagic.size()) {
    return kMagic.substr(0, bytes.size()) == bytes ? DecodeResult::kTruncated
                                                   : DecodeResult::kForeign;
  }
  if (bytes.substr(0, kMagic.size()) == kOutdatedMagic) return DecodeResult::kOutdated;
  if (bytes.substr(0, kMagic.size()) != kMagic) return DecodeResult::kForeign;

  Reader r(bytes.substr(kMagic.size()));
  uint64_t reserved, status, stored_at, expires_at, meta_len, header_count;
  std::string_view meta;
  if (!r.ReadBe<1>(&reserved)) return DecodeResult::kTruncated;
  // A reserved byte in use would mean a newer envelope whose meaning we cannot honour.
  if (reserved != 0) return DecodeResult::kCorrupt;
  if (!r.ReadBe<2>(&status)) return DecodeResult::kTruncated;
  if (!IsValidStatus(static_cast<uint16_t>(status))) return DecodeResult::kCorrupt;
  if (!r.ReadBe<8>(&stored_at) || !r.ReadBe<8>(&expires_at) || !r.ReadBe<2>(&meta_len) ||
      !r.ReadBytes(meta_len, &meta)) {
    return DecodeResult::kTruncated;
  }
  if (!DecodeMeta(meta, &out->meta)) return DecodeResult::kCorrupt;
  if (!r.ReadBe<2>(&header_count)) return DecodeResult::kTruncated;
  if (header_count > kMaxHeaders) return DecodeResult::kCorrupt;

  out->status = static_cast<uint16_t>(status);
  out->stored_at_ms = static_cast<int64_t>(stored_at);
  out->expires_at_ms = static_cast<int64_t>(expires_at);
  out->headers.clear();
  out->headers.reserve(static_cast<size_t>(header_count));
  for (uint64_t i = 0; i < header_count; ++i) {
    uint64_t name_len, value_len;
    std::string_view name, value;
    if (!r.ReadBe<2>(&name_len) || !r.ReadBytes(name_len, &name)) return DecodeResult::kTruncated;
    if (!IsValidName(name)) return DecodeResult::kCorrupt;
    if (!r.ReadBe<4>(&value_len) || !r.ReadBytes(value_len, &value)) {
      return DecodeResult::kTruncated;
    }
    if (!IsValidValue(value)) return DecodeResult::kCorrupt;
    out->headers.emplace_back(name, value);
  }
  uint64_t body_len;
  if (!r.ReadBe<4>(&body_len)) return DecodeResult::kTruncated;
  if (body_len > kMaxBodyBytes) return DecodeResult::kCorrupt;
  if (!r.ReadBytes(body_len, &out->body)) return DecodeResult::kTruncated;
  if (r.remaining() != 0) return DecodeResult::kCorrupt;
  return DecodeResult::kOk;
}

const char* MetaProblem(const EntryMeta& m) {
  if (static_cast<uint8_t>(m.kind) > static_cast<uint8_t>(EntryKind::kVary)) {
    return "meta.kind must be 'response', 'value' or 'vary'";
  }
  if (m.ns && !IsValidString(*m.ns, kMaxNsBytes)) return "meta.ns must be at most 255 bytes of UTF-8";
  if (m.value_type && !IsValidString(*m.value_type, kMaxValueTypeBytes)) {
    return "meta.valueType must be at most 64 bytes of UTF-8";
  }
  if (m.vary.size() > kMaxVaryNames) return "meta.vary must hold at most 64 names";
  for (std::string_view name : m.vary) {
    if (name.size() > kMaxVaryNameBytes || !IsValidName(name)) {
      return "meta.vary must hold header names (RFC 9110 tokens) of at most 255 bytes";
    }
  }
  if (m.gzip) {
    if (m.gzip->identity_length > kMaxSafeInteger) {
      return "meta.gzip.length must be an integer from 0 to 2^53 - 1";
    }
    if (m.gzip->identity_etag.size() > kMaxEtagBytes || !IsValidValue(m.gzip->identity_etag)) {
      return "meta.gzip.etag must be a header value of at most 1024 bytes";
    }
  }
  if (m.route && !IsValidString(*m.route, kMaxRouteBytes)) {
    return "meta.route must be at most 2048 bytes of UTF-8";
  }
  return nullptr;
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;       // overlong
      if (c == 0xed) hi = 0x9f;       // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;       // overlong
      if (c == 0xf4) hi = 0x8f;       // past U+10FFFF
    } else {
      return false;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return false;
    }
    i += len;
  }
  return true;
}

size_t Utf16Length(std::string_view s) {
  size_t units = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c & 0xc0) != 0x80) ++units;  // a lead byte starts one code point
    if (c >= 0xf0) ++units;           // beyond the BMP: a surrogate pair
  }
  return units;
}

const char* DecodeResultName(DecodeResult result) {
  switch (result) {
    case DecodeResult::kOk: return "ok";
    case DecodeResult::kForeign: return "foreign";
    case DecodeResult::kTruncated: return "truncated";
    case DecodeResult::kCorrupt: return "corrupt";
    case DecodeResult::kOutdated: return "outdated";
  }
  return "unknown";
}

}  // namespace respcache
