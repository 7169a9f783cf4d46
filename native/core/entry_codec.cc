#include "core/entry_codec.h"

#include <cstring>
#include <limits>

namespace respcache {
namespace {

constexpr std::string_view kMagic = "RCE1";
constexpr size_t kFixedHeadBytes = 4 + 1 + 2 + 8 + 8 + 2;  // magic .. header_count
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

}  // namespace

bool EncodeEntry(const EntryView& entry, std::string* out) {
  if (!IsValidStatus(entry.status)) return false;
  if (entry.headers.size() > kMaxHeaders) return false;
  if (entry.body.size() > kMaxBodyBytes) return false;
  // Summed in 64 bits so the size check below cannot be defeated by wrap-around.
  uint64_t total = kFixedHeadBytes + kBodyLenBytes + uint64_t{entry.body.size()};
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
  AppendBe<1>(0, out);  // flags: none defined yet
  AppendBe<2>(entry.status, out);
  AppendBe<8>(static_cast<uint64_t>(entry.stored_at_ms), out);
  AppendBe<8>(static_cast<uint64_t>(entry.expires_at_ms), out);
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
  if (bytes.substr(0, kMagic.size()) != kMagic) return DecodeResult::kForeign;

  Reader r(bytes.substr(kMagic.size()));
  uint64_t flags, status, stored_at, expires_at, header_count;
  if (!r.ReadBe<1>(&flags)) return DecodeResult::kTruncated;
  // Unknown flags would mean a newer format whose meaning we cannot honour.
  if (flags != 0) return DecodeResult::kCorrupt;
  if (!r.ReadBe<2>(&status)) return DecodeResult::kTruncated;
  if (!IsValidStatus(static_cast<uint16_t>(status))) return DecodeResult::kCorrupt;
  if (!r.ReadBe<8>(&stored_at) || !r.ReadBe<8>(&expires_at) || !r.ReadBe<2>(&header_count)) {
    return DecodeResult::kTruncated;
  }
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

const char* DecodeResultName(DecodeResult result) {
  switch (result) {
    case DecodeResult::kOk: return "ok";
    case DecodeResult::kForeign: return "foreign";
    case DecodeResult::kTruncated: return "truncated";
    case DecodeResult::kCorrupt: return "corrupt";
  }
  return "unknown";
}

}  // namespace respcache
