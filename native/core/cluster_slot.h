// Redis Cluster key slots: CRC16 (the XMODEM variant Redis uses) modulo 16384, with hash tags.
// Pure C++: the cluster client routes with it, and the binding exposes it as keySlot(key).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace respcache {

constexpr int kClusterSlots = 16384;

// CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection), as in Redis's crc16.c.
uint16_t Crc16(const char* data, size_t len);

// The slot Redis gives `key` (CLUSTER KEYSLOT): when the key holds a '{' followed later by a '}'
// with at least one byte between them, only the bytes between the first '{' and the first '}'
// after it are hashed; otherwise the whole key. "{}x" hashes whole (empty tag), "{{a}}" hashes
// "{a". Always in [0, 16383].
int KeySlot(std::string_view key);

}  // namespace respcache
