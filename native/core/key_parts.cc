#include "core/key_parts.h"

#include <cstdint>

#include "core/sha256.h"

namespace respcache {
namespace {

void AppendLength(std::string* out, uint64_t n) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(static_cast<uint8_t>(n >> (56 - 8 * i))));
}

}  // namespace

std::string EncodeParts(const std::vector<std::string_view>& parts) {
  size_t total = 0;
  for (std::string_view part : parts) total += 8 + part.size();
  std::string out;
  out.reserve(total);
  for (std::string_view part : parts) {
    AppendLength(&out, part.size());
    out.append(part);
  }
  return out;
}

bool DecodeParts(std::string_view encoded, std::vector<std::string>* parts) {
  parts->clear();
  size_t pos = 0;
  while (pos < encoded.size()) {
    if (encoded.size() - pos < 8) return false;
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | static_cast<uint8_t>(encoded[pos + i]);
    pos += 8;
    if (n > encoded.size() - pos) return false;
    parts->emplace_back(encoded.substr(pos, static_cast<size_t>(n)));
    pos += static_cast<size_t>(n);
  }
  return true;
}

std::string HashParts(const std::vector<std::string_view>& parts) {
  Sha256 sha;
  for (std::string_view part : parts) {
    uint8_t len[8];
    const uint64_t n = part.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
    sha.Update(len, sizeof(len));
    sha.Update(part);
  }
  return Sha256::Hex(sha.Final());
}

}  // namespace respcache
