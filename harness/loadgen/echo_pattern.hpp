// The bytes weft-loadgen sends, so that every echoed byte can be checked without keeping a copy.
//
// Byte `offset` of connection `conn`'s stream (offset counts every byte the connection ever
// sent: message k covers [k * msg_size, (k + 1) * msg_size)) is a multiplicative hash of the pair.
// An echo that comes back from another connection, skips or repeats bytes, or is altered differs
// from the expected byte with probability 255/256 per byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::loadgen {

inline std::uint8_t pattern_byte(std::uint32_t conn, std::uint64_t offset) {
  const std::uint64_t h = (offset + 1) * 0x9E3779B97F4A7C15ull ^ (conn + 1) * 0xD1B54A32D192ED03ull;
  return static_cast<std::uint8_t>((h ^ (h >> 29)) >> 48);
}

inline void fill_pattern(std::uint32_t conn, std::uint64_t offset, std::uint8_t* out,
                         std::size_t len) {
  for (std::size_t i = 0; i < len; ++i) out[i] = pattern_byte(conn, offset + i);
}

// True when `data` is exactly what connection `conn` sent at `offset`.
inline bool matches_pattern(std::uint32_t conn, std::uint64_t offset, const std::uint8_t* data,
                            std::size_t len) {
  bool ok = true;
  for (std::size_t i = 0; i < len; ++i) ok &= data[i] == pattern_byte(conn, offset + i);
  return ok;
}

}  // namespace weft::loadgen
