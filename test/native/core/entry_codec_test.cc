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
  Bytes& U64(uint64_t v) { return Be(v, 8); }
  Bytes& I64(int64_t v) { return Be(static_cast<uint64_t>(v), 8); }
  // magic, reserved byte, status, timestamps, a default meta section (a response, nothing
  // optional) and the header count.
  Bytes& Head(uint16_t status, uint16_t header_count, uint8_t reserved = 0) {
    return Raw("RCE2").U8(reserved).U16(status).I64(1).I64(2).U16(7).Raw("\0\0\0\0\0\0\0"s).U16(header_count);
  }
  // magic, status, timestamps and a meta section given whole (its length is written here).
  Bytes& HeadWithMeta(std::string_view meta, uint16_t header_count = 0) {
    return Raw("RCE2").U8(0).U16(200).I64(1).I64(2).U16(static_cast<uint16_t>(meta.size())).Raw(meta).U16(header_count);
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
      "RCE2"
      "\x00"
      "\x00\xC8"
      "\x00\x00\x00\x00\x00\x00\x00\x01"
      "\x00\x00\x00\x00\x00\x00\x00\x02"
      "\x00\x07" "\x00" "\x00" "\x00\x00\x00\x00" "\x00"  // meta: response, none, flags 0, no vary
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
  // magic..header_count with an empty meta section (34) + 6 per header + body length (4)
  EXPECT_EQ(encoded.size() - body.size() - header_bytes, 34u + 6u * 6u + 4u);
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
  EXPECT_EQ(bytes.size(), 38u);
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
  EXPECT_EQ(Decode("RCE3" + Encode(Sample()).substr(4)), DecodeResult::kForeign);
  EXPECT_EQ(Decode("rce2" + Encode(Sample()).substr(4)), DecodeResult::kForeign);
}

TEST(DecodeEntry, ReportsALengthRunningPastTheEndAsTruncated) {
  EXPECT_EQ(Decode(Bytes().Head(200, 0).U32(3).Raw("hi").str()), DecodeResult::kTruncated);
  EXPECT_EQ(Decode(Bytes().Head(200, 2).Header("a", "b").str()), DecodeResult::kTruncated);
  EXPECT_EQ(Decode(Bytes().Head(200, 1).U16(0xffff).Raw("a").str()), DecodeResult::kTruncated);
  EXPECT_EQ(Decode(Bytes().Head(200, 1).U16(1).Raw("a").U32(0xffffffff).Raw("b").str()),
            DecodeResult::kTruncated);
}

TEST(DecodeEntry, ReportsTheFirstFormatAsOutdated) {
  // An RCE1 entry as the previous release wrote it: flags u8, status, times, one header, body.
  const std::string rce1 = "RCE1\0\x00\xC8"s + std::string(16, '\0') + "\x00\x01\x00\x01" "a"
                           "\x00\x00\x00\x01" "b" "\x00\x00\x00\x02" "hi"s;
  EXPECT_EQ(Decode(rce1), DecodeResult::kOutdated);
  EXPECT_EQ(Decode("RCE1"), DecodeResult::kOutdated);
  EXPECT_STREQ(DecodeResultName(DecodeResult::kOutdated), "outdated");
}

// --- Typed metadata ----------------------------------------------------------------------------

EntryMeta FullMeta() {
  EntryMeta m;
  m.kind = EntryKind::kValue;
  m.ns = "17";
  m.value_type = "json";
  m.vary = {"accept-encoding", "x-tenant"};
  m.gzip = GzipVariant{123456789, "W/\"75bcd15-x\""};
  m.route = "/products/:id \xE2\x82\xAC";  // any UTF-8
  m.flags = 0xA5000001;
  return m;
}

void ExpectSameMeta(const EntryMeta& a, const EntryMeta& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.ns, b.ns);
  EXPECT_EQ(a.value_type, b.value_type);
  EXPECT_EQ(a.vary, b.vary);
  ASSERT_EQ(a.gzip.has_value(), b.gzip.has_value());
  if (a.gzip) {
    EXPECT_EQ(a.gzip->identity_length, b.gzip->identity_length);
    EXPECT_EQ(a.gzip->identity_etag, b.gzip->identity_etag);
  }
  EXPECT_EQ(a.route, b.route);
  EXPECT_EQ(a.flags, b.flags);
}

TEST(EncodeEntry, WritesTheDocumentedMetaLayout) {
  EntryView e;
  e.status = 200;
  e.stored_at_ms = 1;
  e.expires_at_ms = 2;
  e.meta = FullMeta();
  e.meta.route = "/r";
  const std::string meta = Bytes()
                               .U8(1)            // kind: value
                               .U8(0x0F)         // ns, value_type, gzip, route
                               .U32(0xA5000001)  // flags
                               .U8(2).Raw("17")
                               .U8(4).Raw("json")
                               .U8(2).U8(15).Raw("accept-encoding").U8(8).Raw("x-tenant")
                               .U64(123456789).U16(13).Raw("W/\"75bcd15-x\"")
                               .U16(2).Raw("/r")
                               .str();
  EXPECT_EQ(Encode(e), Bytes().HeadWithMeta(meta).Body("").str());
}

TEST(DecodeEntry, RoundTripsEveryMetaField) {
  EntryView e = Sample();
  e.meta = FullMeta();
  const std::string bytes = Encode(e);
  EntryView back;
  ASSERT_EQ(Decode(bytes), DecodeResult::kOk);
  ASSERT_EQ(DecodeEntry(bytes, &back), DecodeResult::kOk);
  ExpectSameEntry(back, e);
  ExpectSameMeta(back.meta, e.meta);
  EXPECT_TRUE(Inside(*back.meta.ns, bytes));
  EXPECT_TRUE(Inside(back.meta.vary[1], bytes));
}

TEST(DecodeEntry, TellsAnAbsentStringFromAnEmptyOne) {
  EntryView e;
  e.status = 200;
  e.meta.ns = "";
  e.meta.route = "";
  e.meta.gzip = GzipVariant{0, ""};
  EntryView back;
  const std::string bytes = Encode(e);
  ASSERT_EQ(DecodeEntry(bytes, &back), DecodeResult::kOk);
  ASSERT_TRUE(back.meta.ns.has_value());
  EXPECT_EQ(*back.meta.ns, "");
  EXPECT_FALSE(back.meta.value_type.has_value());
  ASSERT_TRUE(back.meta.route.has_value());
  ASSERT_TRUE(back.meta.gzip.has_value());
  EXPECT_EQ(back.meta.gzip->identity_length, 0u);
  EntryView plain;
  plain.status = 200;
  ASSERT_EQ(DecodeEntry(Encode(plain), &back), DecodeResult::kOk);
  EXPECT_FALSE(back.meta.ns || back.meta.value_type || back.meta.gzip || back.meta.route);
  EXPECT_TRUE(back.meta.vary.empty());
}

TEST(DecodeEntry, ReplacesMetaLeftInTheOutputByAnEarlierDecode) {
  EntryView full = Sample();
  full.meta = FullMeta();
  EntryView out;
  const std::string first = Encode(full);
  ASSERT_EQ(DecodeEntry(first, &out), DecodeResult::kOk);
  const std::string second = Encode(Sample());
  ASSERT_EQ(DecodeEntry(second, &out), DecodeResult::kOk);
  ExpectSameMeta(out.meta, EntryMeta());
}

TEST(DecodeEntry, ReportsAMetaSectionWhoseLengthsDisagreeAsCorrupt) {
  const std::string base = Bytes().U8(0).U8(1).U32(0).U8(2).Raw("17").U8(0).str();  // ns "17"
  EXPECT_EQ(Decode(Bytes().HeadWithMeta(base).Body("").str()), DecodeResult::kOk);
  // A field running past meta_len, meta_len leaving bytes unread, a missing vary count.
  EXPECT_EQ(Decode(Bytes().HeadWithMeta(Bytes().U8(0).U8(1).U32(0).U8(9).Raw("17").U8(0).str()).Body("").str()),
            DecodeResult::kCorrupt);
  EXPECT_EQ(Decode(Bytes().HeadWithMeta(base + "x").Body("").str()), DecodeResult::kCorrupt);
  EXPECT_EQ(Decode(Bytes().HeadWithMeta(Bytes().U8(0).U8(0).U32(0).str()).Body("").str()),
            DecodeResult::kCorrupt);
  EXPECT_EQ(Decode(Bytes().HeadWithMeta("").Body("").str()), DecodeResult::kCorrupt);
}

TEST(DecodeEntry, ReportsMetaFieldsBreakingTheirRulesAsCorrupt) {
  auto with = [](auto&& fill) {
    Bytes meta;
    fill(meta);
    return Decode(Bytes().HeadWithMeta(meta.str()).Body("").str());
  };
  // ns that is not UTF-8 (a lone continuation byte, an encoded surrogate, an overlong '/').
  for (std::string bad : {"\x80"s, "\xED\xA0\x80"s, "\xC0\xAF"s, "\xF4\x90\x80\x80"s}) {
    EXPECT_EQ(with([&](Bytes& b) { b.U8(0).U8(1).U32(0).U8(bad.size()).Raw(bad).U8(0); }),
              DecodeResult::kCorrupt);
  }
  // value_type over 64 bytes.
  EXPECT_EQ(with([](Bytes& b) { b.U8(1).U8(2).U32(0).U8(65).Raw(std::string(65, 't')).U8(0); }),
            DecodeResult::kCorrupt);
  EXPECT_EQ(with([](Bytes& b) { b.U8(1).U8(2).U32(0).U8(64).Raw(std::string(64, 't')).U8(0); }),
            DecodeResult::kOk);
  // vary: a name that is not a token, an empty name, more than 64 names.
  EXPECT_EQ(with([](Bytes& b) { b.U8(2).U8(0).U32(0).U8(1).U8(3).Raw("a b"); }), DecodeResult::kCorrupt);
  EXPECT_EQ(with([](Bytes& b) { b.U8(2).U8(0).U32(0).U8(1).U8(0); }), DecodeResult::kCorrupt);
  EXPECT_EQ(with([](Bytes& b) {
              b.U8(2).U8(0).U32(0).U8(65);
              for (int i = 0; i < 65; ++i) b.U8(1).Raw("a");
            }),
            DecodeResult::kCorrupt);
  // gzip: an identity length beyond 2^53 - 1, an etag with a CR.
  EXPECT_EQ(with([](Bytes& b) { b.U8(0).U8(4).U32(0).U8(0).U64(kMaxSafeInteger + 1).U16(0); }),
            DecodeResult::kCorrupt);
  EXPECT_EQ(with([](Bytes& b) { b.U8(0).U8(4).U32(0).U8(0).U64(kMaxSafeInteger).U16(0); }),
            DecodeResult::kOk);
  EXPECT_EQ(with([](Bytes& b) { b.U8(0).U8(4).U32(0).U8(0).U64(1).U16(3).Raw("a\rb"); }),
            DecodeResult::kCorrupt);
  // route over 2048 bytes.
  EXPECT_EQ(with([](Bytes& b) { b.U8(0).U8(8).U32(0).U8(0).U16(2049).Raw(std::string(2049, 'r')); }),
            DecodeResult::kCorrupt);
}

TEST(EncodeEntry, RefusesMetaItCouldNotDecodeAndSaysWhichField) {
  struct Case {
    void (*spoil)(EntryMeta*);
    const char* field;
  };
  static const std::string long_ns(256, 'n');
  static const std::string long_route(2049, 'r');
  static const std::string long_etag(1025, 'e');
  const Case cases[] = {
      {[](EntryMeta* m) { m->kind = static_cast<EntryKind>(3); }, "meta.kind"},
      {[](EntryMeta* m) { m->ns = long_ns; }, "meta.ns"},
      {[](EntryMeta* m) { m->ns = "\xFF"; }, "meta.ns"},
      {[](EntryMeta* m) { m->value_type = std::string_view("t\xC0", 2); }, "meta.valueType"},
      {[](EntryMeta* m) { m->vary = {"accept", "not a token"}; }, "meta.vary"},
      {[](EntryMeta* m) { m->vary.assign(65, "a"); }, "meta.vary"},
      {[](EntryMeta* m) { m->gzip = GzipVariant{kMaxSafeInteger + 1, ""}; }, "meta.gzip.length"},
      {[](EntryMeta* m) { m->gzip = GzipVariant{1, long_etag}; }, "meta.gzip.etag"},
      {[](EntryMeta* m) { m->gzip = GzipVariant{1, "a\nb"}; }, "meta.gzip.etag"},
      {[](EntryMeta* m) { m->route = long_route; }, "meta.route"},
  };
  for (const Case& c : cases) {
    EntryView e = Sample();
    c.spoil(&e.meta);
    const char* problem = MetaProblem(e.meta);
    ASSERT_NE(problem, nullptr) << c.field;
    EXPECT_EQ(std::string(problem).rfind(std::string(c.field) + " ", 0), 0u) << problem;
    std::string out = "untouched";
    EXPECT_FALSE(EncodeEntry(e, &out)) << c.field;
    EXPECT_EQ(out, "untouched");
  }
  EXPECT_EQ(MetaProblem(FullMeta()), nullptr);
}

TEST(Utf8, AcceptsWellFormedAndCountsUtf16Units) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));
  EXPECT_EQ(Utf16Length("caf\xC3\xA9"), 4u);
  EXPECT_EQ(Utf16Length("\xE2\x82\xAC"), 1u);
  EXPECT_EQ(Utf16Length("\xF0\x9F\x98\x80"), 2u);  // a surrogate pair in JavaScript
  for (std::string bad : {"\xC3"s, "\xC1\xBF"s, "\xE0\x9F\xBF"s, "\xED\xBF\xBF"s, "\xF0\x8F\xBF\xBF"s,
                          "\xF5\x80\x80\x80"s, "\xE2\x82"s, "\xE2\x28\xAC"s}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

// --- Corrupt values ----------------------------------------------------------------------------

TEST(DecodeEntry, ReportsTrailingBytesAsCorrupt) {
  EXPECT_EQ(Decode(Encode(Sample()) + "x"), DecodeResult::kCorrupt);
  EXPECT_EQ(Decode(Bytes().Head(200, 0).Body("").Raw("\0"s).str()), DecodeResult::kCorrupt);
}

TEST(DecodeEntry, ReportsAReservedByteInUseAsCorrupt) {
  for (uint8_t reserved : {uint8_t{1}, uint8_t{0x80}, uint8_t{0xff}}) {
    EXPECT_EQ(Decode(Bytes().Head(200, 0, reserved).Body("").str()), DecodeResult::kCorrupt);
  }
}

TEST(DecodeEntry, ReportsUnknownPresenceBitsAndKindsAsCorrupt) {
  for (uint8_t present : {uint8_t{0x10}, uint8_t{0x80}, uint8_t{0xff}}) {
    const std::string meta = Bytes().U8(0).U8(present).U32(0).U8(0).str();
    EXPECT_EQ(Decode(Bytes().HeadWithMeta(meta).Body("").str()), DecodeResult::kCorrupt);
  }
  for (uint8_t kind : {uint8_t{3}, uint8_t{0xff}}) {
    const std::string meta = Bytes().U8(kind).U8(0).U32(0).U8(0).str();
    EXPECT_EQ(Decode(Bytes().HeadWithMeta(meta).Body("").str()), DecodeResult::kCorrupt);
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
  EntryView sample = Sample();
  sample.meta = FullMeta();
  const std::string valid = Encode(sample);
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
  EXPECT_STREQ(DecodeResultName(DecodeResult::kOutdated), "outdated");
}

}  // namespace
}  // namespace respcache
