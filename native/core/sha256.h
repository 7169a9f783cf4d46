// SHA-256 (FIPS 180-4), incremental. Plain C++: no Node, no OpenSSL, so the core tests link alone.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace respcache {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void Update(const void* data, size_t len);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Finishes the hash; the object is reset afterwards and can hash a new message.
  Digest Final();

  static std::string Hex(const Digest& digest);  // lowercase, 64 characters

 private:
  void Reset();
  void Compress(const uint8_t* block);

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace respcache
