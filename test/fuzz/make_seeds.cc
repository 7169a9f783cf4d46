// Writes the seed corpora of the fuzz targets into <dir>/{entry_codec,request_key}/
// (the checked-in copy is test/fuzz/corpus/). Built with -DRESPCACHE_FUZZ=ON as
// respcache_fuzz_seeds; run it again only to change the seeds, and keep them small: libFuzzer
// grows its own working corpus from these in a scratch folder (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/entry_codec.h"

namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

void Write(const fs::path& dir, const std::string& name, std::string_view bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Entry(uint16_t status, std::vector<std::pair<std::string_view, std::string_view>> headers,
                  std::string_view body, int64_t stored_at_ms = 1764600000000,
                  int64_t expires_at_ms = 1764600060000, respcache::EntryMeta meta = {}) {
  respcache::EntryView entry;
  entry.status = status;
  entry.meta = std::move(meta);
  entry.headers = std::move(headers);
  entry.body = body;
  entry.stored_at_ms = stored_at_ms;
  entry.expires_at_ms = expires_at_ms;
  std::string out;
  if (!respcache::EncodeEntry(entry, &out)) {
    std::fprintf(stderr, "EncodeEntry refused a seed (status %u)\n", status);
    std::exit(1);
  }
  return out;
}

void EntrySeeds(const fs::path& dir) {
  const std::string typical = Entry(200,
      {{"content-type", "application/json; charset=utf-8"}, {"cache-control", "public, max-age=60"},
       {"etag", "W/\"11-abc\""}, {"vary", "Accept-Encoding"}},
      "{\"id\":1,\"ok\":true}");
  Write(dir, "ok-200-json", typical);
  Write(dir, "ok-204-empty", Entry(204, {}, ""));
  Write(dir, "ok-404-html", Entry(404, {{"Content-Type", "text/html"}}, "<h1>Not Found</h1>"));
  Write(dir, "ok-999-binary-body", Entry(999, {{"x-bytes", "caf\xC3\xA9 \t\xC2\x80\xC3\xBF"}},
                                          "\0\x01\r\n\xFF"s, -1, INT64_MAX));
  std::vector<std::pair<std::string_view, std::string_view>> cookies(8, {"set-cookie", "a=b; Path=/"});
  cookies.emplace_back("!#$%&'*+-.^_`|~", "");
  Write(dir, "ok-many-headers", Entry(200, cookies, "x", 0, 0));
  // Refusals, so the decoder's error paths are in the corpus from the start.
  Write(dir, "truncated-in-header", typical.substr(0, 40));
  Write(dir, "truncated-magic", "RC");
  Write(dir, "foreign", "{\"status\":200}");
  // Typed metadata: every field, and the vary record and value shapes lib writes.
  respcache::EntryMeta full;
  full.kind = respcache::EntryKind::kValue;
  full.ns = "17";
  full.value_type = "json";
  full.vary = {"accept-encoding", "x-tenant"};
  full.gzip = respcache::GzipVariant{4096, "W/\"1000-abc\""};
  full.route = "/caf\xC3\xA9/:id \xF0\x9F\x98\x80";
  full.flags = 0x80000001;
  Write(dir, "ok-meta-every-field", Entry(200, {{"content-encoding", "gzip"}}, "\x1f\x8b"s, 1, 2, full));
  respcache::EntryMeta vary_record;
  vary_record.kind = respcache::EntryKind::kVary;
  vary_record.vary = {"accept-language"};
  Write(dir, "ok-meta-vary-record", Entry(200, {}, "", 1, 2, vary_record));
  respcache::EntryMeta empty_ns;
  empty_ns.ns = "";
  Write(dir, "ok-meta-empty-ns", Entry(200, {{"a", "b"}}, "x", 1, 2, empty_ns));
  // An entry of the previous format (RCE1: flags u8 after the magic): 'outdated'.
  Write(dir, "outdated-rce1", "RCE1\0\x00\xC8"s + std::string(16, '\0') +
                                  "\x00\x01\x00\x01" "a" "\x00\x00\x00\x01" "b" "\x00\x00\x00\x02" "hi"s);
  std::string present = typical;
  present[26] = static_cast<char>(0x80);  // the meta's presence bits: an unknown one
  Write(dir, "corrupt-meta-present", present);
  std::string reserved = typical;
  reserved[4] = 1;
  Write(dir, "corrupt-reserved-byte", reserved);
  Write(dir, "corrupt-trailing-bytes", typical + "!");
}

// The byte layout request_key_fuzz.cc reads with FuzzedDataProvider: strings from the front, each
// ended by a backslash and one other byte (a backslash inside is doubled), the target as the
// rest, then the flags from the end: the vary count, the has-routed-path byte, and last the
// has-parsed-query byte.
std::string RequestSeed(std::string_view method, std::string_view host, std::optional<std::string_view> parsed,
                        std::vector<std::pair<std::string_view, std::string_view>> vary,
                        std::string_view target, std::optional<std::string_view> routed = std::nullopt) {
  std::string out;
  auto add = [&out](std::string_view s) {
    for (char c : s) {
      out.push_back(c);
      if (c == '\\') out.push_back('\\');
    }
    out += "\\|";
  };
  add(method);
  add(host);
  if (parsed) add(*parsed);
  if (routed) add(*routed);
  for (const auto& [name, value] : vary) {
    add(name);
    add(value);
  }
  out.append(target);
  out.push_back(static_cast<char>(vary.size()));
  out.push_back(routed ? 1 : 0);
  out.push_back(parsed ? 1 : 0);
  return out;
}

void RequestKeySeeds(const fs::path& dir) {
  const std::vector<std::pair<std::string_view, std::string_view>> gzip = {{"Accept-Encoding", "gzip"}};
  const std::vector<std::pair<std::string, std::string>> targets = {
      {"root", "/"},
      {"escaped-unreserved", "/app/ap%69"},
      {"escaped-slash", "/a%2Fb/c"},
      {"fragment", "/k/p?q=c#x&b=2"},
      {"escaped-hash", "/k/p?q=c%23x&b=2"},
      {"plus", "/search?q=a+b&q=%20"},
      {"invalid-escapes", "/x?q=%E9%41&r=%E9A&s=%zz"},
      {"utf8", "/caf\xC3\xA9?n=\xE2\x82\xAC"},
      {"non-utf8", "/bad\xFF\xFE?\x80=\xC0"},
      {"nbsp", "/a\xC2\xA0"},
      {"bom", "/\xEF\xBB\xBFx"},
      {"space-tab", "/a b\tc"},
      {"backslash", "/k\\p"},
      {"dot-segments", "/a/./b/../c//d/"},
      {"absolute-form", "http://example.com/abs?x=1"},
      {"asterisk", "*"},
      {"empty", ""},
      {"repeated-empty-params", "/p?a=1&a=2&b=&&c"},
      {"trailing-space-legacy", "/a ?"},
      {"trimmed-ends", " \xEF\xBB\xBF/a\t#x\xC2\xA0"},
  };
  for (const auto& [name, target] : targets) {
    Write(dir, "raw-" + name, RequestSeed("GET", "Example.COM:8080", std::nullopt, {}, target));
  }
  Write(dir, "parsed-query", RequestSeed("GET", "localhost", "{\"q\":\"c#x\",\"b\":\"2\"}", {}, "/k/p?q=c%23x&b=2"));
  Write(dir, "parsed-empty", RequestSeed("GET", "localhost", "", {}, "/k/p"));
  Write(dir, "routed-same", RequestSeed("GET", "localhost", "{}", {}, "/m/api", "/m/api"));
  Write(dir, "routed-rewrite", RequestSeed("GET", "localhost", "{}", {}, "/index.php?page=a", "/a"));
  Write(dir, "vary-one", RequestSeed("GET", "api.example.com", "{}", gzip, "/list?page=2"));
  Write(dir, "vary-many", RequestSeed("POST", "API.example.com", std::nullopt,
                                      {{"Accept-Language", "en"}, {"accept-encoding", ""},
                                       {"X-Tenant", "a\\b"}, {"ACCEPT-LANGUAGE", "de"}},
                                      "/list?page=2"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path root(argv[1]);
  EntrySeeds(root / "entry_codec");
  RequestKeySeeds(root / "request_key");
  return 0;
}
