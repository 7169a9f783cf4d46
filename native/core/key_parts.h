// The unambiguous encoding of a list of byte strings that every key hashes: for each part, its
// length as 8 bytes big-endian, then its bytes. No two different part lists share an encoding
// (["ab","c"] and ["a","bc"] differ), so equal hashes mean equal lists.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace respcache {

// Hex SHA-256 of EncodeParts(parts). This is what JavaScript's hashKey(parts) returns.
std::string HashParts(const std::vector<std::string_view>& parts);

// The length-prefixed parts, concatenated.
std::string EncodeParts(const std::vector<std::string_view>& parts);

// The inverse of EncodeParts: false when `encoded` is not exactly a sequence of length-prefixed
// parts (a truncated prefix, a length past the end). Bounds-checked; used by tests and the fuzzer
// to show the encoding is injective.
bool DecodeParts(std::string_view encoded, std::vector<std::string>* parts);

}  // namespace respcache
