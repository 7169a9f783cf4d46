#include "core/entry_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace respcache {
namespace {

using namespace std::string_literals;

// Writes the wire format by hand, independently of EncodeEntry, so tests can also plant bytes
// that EncodeEntry would refuse to produce.
class Bytes {
 public:
  Bytes& Raw(std::string_view s) {
    s_.append(s);
    return *this;
  }
  Bytes& U8(uint8_t v) { return Be(v, 1); }
  Bytes& U16(uint16_t v) { return Be(v, 2); }
  Bytes& U32(uint32_t v) { return Be(v, 4); }
  Bytes& I64(int64_t v) { return Be(static_cast<uint64_t>(v), 8); }
  // magic, flags, status, timestamps and header count.
  Bytes& Head(uint16_t status, uint16_t header_count, uint8_t flags = 0) {
    return Raw("RCE1").U8(flags).U16(status).I64(1).I64(2).U16(header_count);
  }
  Bytes& Header(std::string_view name, std::string_view value) {
    return U16(static_cast<uint16_t>(name.size())).Raw(name).U32(static_cast<uint32_t>(value.size())).Raw(value);
  }
  Bytes& Body(std::string_view body) { return U32(static_cast<uint32_t>(body.size())).Raw(body); }
  const std::string& str() const { return s_; }

 private:
  Bytes& Be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  std::string s_;
};

// Decodes from a heap copy of exactly bytes.size(), so AddressSanitizer catches any read past
// the end (a std::string's spare capacity would hide it).
class ExactCopy {
 public:
  explicit ExactCopy(std::string_view bytes)
      : data_(new char[bytes.size() == 0 ? 1 : bytes.size()]), size_(bytes.size()) {
    if (size_ > 0) std::memcpy(data_.get(), bytes.data(), size_);
  }
  std::string_view view() const { return std::string_view(data_.get(), size_); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_;
};

DecodeResult Decode(std::string_view bytes) {
  ExactCopy copy(bytes);
  EntryView entry;
  return DecodeEntry(copy.view(), &entry);
}

EntryView Sample() {
  EntryView e;
  e.status = 200;
  e.stored_at_ms = 1700000000000;
  e.expires_at_ms = 1700000060000;
  e.headers = {{"content-type", "application/json; charset=utf-8"},
               {"etag", "W/\"2a-abc\""},
               {"x-tab", "a\tb"},
               {"x-latin1", "caf\xC3\xA9"}};  // U+00E9 as the binding encodes it (UTF-8)
  e.body = "{\"ok\":true}";
  return e;
}

std::string Encode(const EntryView& e) {
  std::string out;
  EXPECT_TRUE(EncodeEntry(e, &out));
  return out;
}

void ExpectSameEntry(const EntryView& a, const EntryView& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.stored_at_ms, b.stored_at_ms);
  EXPECT_EQ(a.expires_at_ms, b.expires_at_ms);
  EXPECT_EQ(a.headers, b.headers);
  EXPECT_EQ(a.body, b.body);
}

bool Inside(std::string_view inner, std::string_view outer) {
  auto begin = reinterpret_cast<uintptr_t>(outer.data());
  auto p = reinterpret_cast<uintptr_t>(inner.data());
  return inner.empty() || (p >= begin && p + inner.size() <= begin + outer.size());
}

// --- Encoding ----------------------------------------------------------------------------------

TEST(EncodeEntry, WritesTheDocumentedLayout) {
  EntryView e;
  e.status = 200;
  e.stored_at_ms = 1;
  e.expires_at_ms = 2;
  e.headers = {{"a", "b"}};
  e.body = "hi";
  const std::string expected =
      "RCE1"
      "\x00"
      "\x00\xC8"
      "\x00\x00\x00\x00\x00\x00\x00\x01"
      "\x00\x00\x00\x00\x00\x00\x00\x02"
      "\x00\x01"
      "\x00\x01" "a" "\x00\x00\x00\x01" "b"
      "\x00\x00\x00\x02" "hi"s;
  EXPECT_EQ(Encode(e), expected);
  EXPECT_EQ(Bytes().Head(200, 1).Header("a", "b").Body("hi").str(), expected);
}

TEST(EncodeEntry, ReplacesWhatTheOutputHeldBefore) {
  std::string out = "stale bytes";
  ASSERT_TRUE(EncodeEntry(Sample(), &out));
  EXPECT_EQ(out, Encode(Sample()));
}

TEST(EncodeEntry, KeepsFramingOverheadSmallForTypicalApiHeaders) {
  EntryView e;
  e.status = 200;
  e.stored_at_ms = 1700000000000;
  e.expires_at_ms = 1700000060000;
  e.headers = {{"content-type", "application/json; charset=utf-8"},
               {"etag", "W/\"1f4-8YcKZVY1pGpWCGtBAdbj9d5y3Hk\""},
               {"cache-control", "public, max-age=60"},
               {"vary", "Accept-Encoding"},
               {"last-modified", "Tue, 14 Nov 2023 22:13:20 GMT"},
               {"x-request-id", "5f0c6c1e-3a4b-4d2e-9f1a-2b3c4d5e6f70"}};
  const std::string body(500, 'x');
  e.body = body;
  size_t header_bytes = 0;
  for (const auto& [name, value] : e.headers) header_bytes += name.size() + value.size();
  const std::string encoded = Encode(e);
  EXPECT_LT(encoded.size() - body.size(), 512u);
  // magic..header_count (25) + 6 per header + body length (4)
  EXPECT_EQ(encoded.size() - body.size() - header_bytes, 25u + 6u * 6u + 4u);
}

// --- Round trips -------------------------------------------------------------------------------

TEST(DecodeEntry, RoundTripsATypicalEntry) {
  const std::string bytes = Encode(Sample());
  EntryView back;
  ASSERT_EQ(DecodeEntry(bytes, &back), DecodeResult::kOk);
  ExpectSameEntry(back, Sample());
  EXPECT_TRUE(Inside(back.body, bytes));
  for (const auto& [name, value] : back.headers) {
    EXPECT_TRUE(Inside(name, bytes));
    EXPECT_TRUE(Inside(value, bytes));
  }
}

TEST(DecodeEntry, RoundTripsAnEmptyBodyAndNoHeaders) {
  EntryView e;
  e.status = 204;
  const std::string bytes = Encode(e);
  EXPECT_EQ(bytes.size(), 29u);
  EntryView back;
  ASSERT_EQ(DecodeEntry(bytes, &back), DecodeResult::kOk);
  ExpectSameEntry(back, e);
}

TEST(DecodeEntry, RoundTripsABinaryBodyWithEveryByteValue) {
  std::string body;
  for (int i = 0; i < 512; ++i) body.push_back(static_cast<char>(i));
  EntryView e = Sample();
  e.body = body;
  EntryView back;
  const std::string bytes = Encode(e);
  ASSERT_EQ(DecodeEntry(bytes, &back), DecodeResult::kOk);
  EXPECT_EQ(back.body, body);
}

TEST(DecodeEntry, RoundTripsTheMostHeadersAllowed) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kMaxHeaders; ++i) names.push_back("x-h" + std::to_string(i));
  EntryView e;
  e.status = 200;
  for (const auto& n : names) e.headers.emplace_back(n, n);
  e.headers[7].second = "";  // an empty value is legal
  EntryView back;
  const std::string bytes = Encode(e);
  ASSERT_EQ(DecodeEntry(bytes, &back), DecodeResult::kOk);
  ExpectSameEntry(back, e);
}

TEST(DecodeEntry, RoundTripsExtremeTimestampsAndStatuses) {
  for (uint16_t status : {uint16_t{200}, uint16_t{304}, uint16_t{999}}) {
    for (int64_t t : {std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0},
                      std::numeric_limits<int64_t>::max()}) {
      EntryView e;
      e.status = status;
      e.stored_at_ms = t;
      e.expires_at_ms = -t - 1;
      EntryView back;
      const std::string bytes = Encode(e);
      ASSERT_EQ(DecodeEntry(bytes, &back), DecodeResult::kOk);
      ExpectSameEntry(back, e);
    }
  }
}

TEST(DecodeEntry, ReplacesHeadersLeftInTheOutputByAnEarlierDecode) {
  EntryView out;
  const std::string first = Encode(Sample());
  ASSERT_EQ(DecodeEntry(first, &out), DecodeResult::kOk);
  EntryView small;
  small.status = 200;
  small.headers = {{"a", "b"}};
  const std::string second = Encode(small);
  ASSERT_EQ(DecodeEntry(second, &out), DecodeResult::kOk);
  ExpectSameEntry(out, small);
}

// --- Truncated and foreign values --------------------------------------------------------------

TEST(DecodeEntry, ReportsEveryPrefixOfAValidEntryAsTruncated) {
  const std::string bytes = Encode(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(Decode(std::string_view(bytes).substr(0, n)), DecodeResult::kTruncated) << n;
  }
  EntryView empty;
  empty.status = 200;
  const std::string small = Encode(empty);
  for (size_t n = 0; n < small.size(); ++n) {
    EXPECT_EQ(Decode(std::string_view(small).substr(0, n)), DecodeResult::kTruncated) << n;
  }
}

TEST(DecodeEntry, ReportsAPrefixOfTheMagicAsTruncated) {
  EXPECT_EQ(Decode(""), DecodeResult::kTruncated);
  EXPECT_EQ(Decode("R"), DecodeResult::kTruncated);
  EXPECT_EQ(Decode("RC"), DecodeResult::kTruncated);
  EXPECT_EQ(Decode("RCE"), DecodeResult::kTruncated);
}

TEST(DecodeEntry, ReportsOtherBytesAsForeign) {
  EXPECT_EQ(Decode("{\"status\":200,\"body\":\"hi\"}"), DecodeResult::kForeign);
  EXPECT_EQ(Decode("x"), DecodeResult::kForeign);
  EXPECT_EQ(Decode("RCx"), DecodeResult::kForeign);
  EXPECT_EQ(Decode("RCE2" + Encode(Sample()).substr(4)), DecodeResult::kForeign);
  EXPECT_EQ(Decode("rce1" + Encode(Sample()).substr(4)), DecodeResult::kForeign);
}

TEST(DecodeEntry, ReportsALengthRunningPastTheEndAsTruncated) {
  EXPECT_EQ(Decode(Bytes().Head(200, 0).U32(3).Raw("hi").str()), DecodeResult::kTruncated);
  EXPECT_EQ(Decode(Bytes().Head(200, 2).Header("a", "b").str()), DecodeResult::kTruncated);
  EXPECT_EQ(Decode(Bytes().Head(200, 1).U16(0xffff).Raw("a").str()), DecodeResult::kTruncated);
  EXPECT_EQ(Decode(Bytes().Head(200, 1).U16(1).Raw("a").U32(0xffffffff).Raw("b").str()),
            DecodeResult::kTruncated);
}

// --- Corrupt values ----------------------------------------------------------------------------

TEST(DecodeEntry, ReportsTrailingBytesAsCorrupt) {
  EXPECT_EQ(Decode(Encode(Sample()) + "x"), DecodeResult::kCorrupt);
  EXPECT_EQ(Decode(Bytes().Head(200, 0).Body("").Raw("\0"s).str()), DecodeResult::kCorrupt);
}

TEST(DecodeEntry, ReportsUnknownFlagsAsCorrupt) {
  for (uint8_t flags : {uint8_t{1}, uint8_t{0x80}, uint8_t{0xff}}) {
    EXPECT_EQ(Decode(Bytes().Head(200, 0, flags).Body("").str()), DecodeResult::kCorrupt);
  }
}

TEST(DecodeEntry, ReportsAStatusOutside200To999AsCorrupt) {
  for (uint16_t status : {uint16_t{0}, uint16_t{99}, uint16_t{100}, uint16_t{101}, uint16_t{199},
                          uint16_t{1000}, uint16_t{0xffff}}) {
    EXPECT_EQ(Decode(Bytes().Head(status, 0).Body("").str()), DecodeResult::kCorrupt) << status;
  }
  EXPECT_EQ(Decode(Bytes().Head(200, 0).Body("").str()), DecodeResult::kOk);
  EXPECT_EQ(Decode(Bytes().Head(999, 0).Body("").str()), DecodeResult::kOk);
}

TEST(DecodeEntry, ReportsTooManyHeadersAsCorruptBeforeReadingThem) {
  EXPECT_EQ(Decode(Bytes().Head(200, kMaxHeaders + 1).str()), DecodeResult::kCorrupt);
  EXPECT_EQ(Decode(Bytes().Head(200, 0xffff).str()), DecodeResult::kCorrupt);
}

TEST(DecodeEntry, ReportsABodyLengthBeyondTheLimitAsCorrupt) {
  EXPECT_EQ(Decode(Bytes().Head(200, 0).U32(kMaxBodyBytes + 1u).str()), DecodeResult::kCorrupt);
}

TEST(DecodeEntry, ReportsHeaderNamesThatAreNotTokensAsCorrupt) {
  for (std::string name : {""s, "a b"s, "a:b"s, "x-a\r\n"s, "a\0b"s, "\xE9"s, "a(b)"s, "a\"b"s,
                           "a/b"s, "a@b"s, "a\tb"s}) {
    EXPECT_EQ(Decode(Bytes().Head(200, 1).Header(name, "v").Body("").str()), DecodeResult::kCorrupt)
        << name;
  }
  EXPECT_EQ(Decode(Bytes().Head(200, 1).Header("!#$%&'*+-.^_`|~Az09", "v").Body("").str()),
            DecodeResult::kOk);
}

TEST(DecodeEntry, ReportsControlCharactersInHeaderValuesAsCorrupt) {
  for (std::string value : {"a\rb"s, "a\nb"s, "a\r\nSet-Cookie: x=1"s, "a\0b"s, "\x01"s, "\x1f"s,
                            "\x7f"s}) {
    EXPECT_EQ(Decode(Bytes().Head(200, 1).Header("x", value).Body("").str()), DecodeResult::kCorrupt);
  }
  EXPECT_EQ(Decode(Bytes().Head(200, 1).Header("x", "\t ~\xc2\x80\xc3\xa9\xc3\xbf").Body("").str()),
            DecodeResult::kOk);  // U+0080, U+00E9, U+00FF in UTF-8: obs-text setHeader accepts
}

TEST(DecodeEntry, ReportsValuesThatAreNotUtf8OfLatin1CharactersAsCorrupt) {
  // Bytes the binding would turn into U+FFFD or into characters above U+00FF, which setHeader
  // refuses: such an entry would fail half-way through a HIT.
  for (std::string value : {"\x80"s, "\xff"s, "\xe9"s, "a\xc3"s, "\xc3\x28"s, "\xc4\x80"s,
                            "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s, "\xc0\xaf"s}) {
    EXPECT_EQ(Decode(Bytes().Head(200, 1).Header("x", value).Body("").str()), DecodeResult::kCorrupt)
        << value;
  }
}

// Random damage to a valid entry must never crash or read out of bounds, and whatever decodes
// as kOk must point inside the buffer and obey the same rules as a fresh entry.
TEST(DecodeEntry, SurvivesRandomMutations) {
  const std::string valid = Encode(Sample());
  std::mt19937 rng(20240611);
  int ok = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string bytes = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = bytes.empty() ? 0 : rng() % bytes.size();
      switch (rng() % 4) {
        case 0:
          if (!bytes.empty()) bytes[at] = static_cast<char>(bytes[at] ^ (1u << (rng() % 8)));
          break;
        case 1:
          if (!bytes.empty()) bytes[at] = static_cast<char>(rng());
          break;
        case 2:
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(rng()));
          break;
        case 3:
          if (!bytes.empty()) bytes.erase(at, 1 + rng() % 8);
          break;
      }
    }
    ExactCopy copy(bytes);
    EntryView entry;
    DecodeResult r = DecodeEntry(copy.view(), &entry);
    if (r != DecodeResult::kOk) continue;
    ++ok;
    EXPECT_TRUE(Inside(entry.body, copy.view()));
    EXPECT_GE(entry.status, 200);
    EXPECT_LE(entry.status, 999);
    for (const auto& [name, value] : entry.headers) {
      ASSERT_TRUE(Inside(name, copy.view()));
      ASSERT_TRUE(Inside(value, copy.view()));
    }
    std::string again;
    EXPECT_TRUE(EncodeEntry(entry, &again));
    EXPECT_EQ(again, bytes);
  }
  // Single-byte changes inside values or timestamps keep the entry valid, so some must decode.
  EXPECT_GT(ok, 0);
}

// --- Encode refusals ---------------------------------------------------------------------------

void ExpectRefused(const EntryView& e) {
  std::string out = "untouched";
  EXPECT_FALSE(EncodeEntry(e, &out));
  EXPECT_EQ(out, "untouched");
}

TEST(EncodeEntry, RefusesAStatusOutside100To999) {
  for (uint16_t status : {uint16_t{0}, uint16_t{99}, uint16_t{1000}, uint16_t{0xffff}}) {
    EntryView e = Sample();
    e.status = status;
    ExpectRefused(e);
  }
}

TEST(EncodeEntry, RefusesMoreThanTheMaximumHeaders) {
  EntryView e;
  e.status = 200;
  e.headers.assign(kMaxHeaders + 1, {"x", "y"});
  ExpectRefused(e);
}

TEST(EncodeEntry, RefusesHeaderNamesThatAreNotTokens) {
  for (std::string name : {""s, "a b"s, "a:b"s, "a\r\nb"s, "a\0"s, "\xE9"s}) {
    EntryView e = Sample();
    e.headers.emplace_back(name, "v");
    ExpectRefused(e);
  }
}

TEST(EncodeEntry, RefusesANameLongerThan65535Bytes) {
  const std::string name(65536, 'x');
  EntryView e = Sample();
  e.headers.emplace_back(name, "v");
  ExpectRefused(e);
  const std::string longest(65535, 'x');
  e.headers.back().first = longest;
  std::string out;
  EXPECT_TRUE(EncodeEntry(e, &out));
}

TEST(EncodeEntry, RefusesControlCharactersInValues) {
  for (std::string value : {"a\rb"s, "a\nb"s, "a\0b"s, "\x01"s, "\x7f"s}) {
    EntryView e = Sample();
    e.headers.emplace_back("x", value);
    ExpectRefused(e);
  }
}

TEST(EncodeEntry, RefusesABodyOverTheLimit) {
  // The size is checked before any byte is read, so the view need not be backed by real memory.
  static const char one = 'x';
  EntryView e = Sample();
  e.body = std::string_view(&one, size_t{kMaxBodyBytes} + 1);
  ExpectRefused(e);
}

TEST(DecodeResultName, NamesEveryResult) {
  EXPECT_STREQ(DecodeResultName(DecodeResult::kOk), "ok");
  EXPECT_STREQ(DecodeResultName(DecodeResult::kForeign), "foreign");
  EXPECT_STREQ(DecodeResultName(DecodeResult::kTruncated), "truncated");
  EXPECT_STREQ(DecodeResultName(DecodeResult::kCorrupt), "corrupt");
}

}  // namespace
}  // namespace respcache
