// SocketAddress: an IPv4 or IPv6 address and port, parsed from and printed as "127.0.0.1:8080"
// or "[::1]:8080".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "weft/net/native_socket.hpp"
#include "weft/status.hpp"

namespace weft::net {

class SocketAddress {
 public:
  SocketAddress() = default;
  // "host:port" with a numeric IPv4 host, or "[v6]:port". No name resolution.
  static weft::StatusOr<SocketAddress> parse(std::string_view text);
  static SocketAddress ipv4_loopback(std::uint16_t port);
  static SocketAddress ipv6_loopback(std::uint16_t port);
  static SocketAddress from_native(const sockaddr* addr, socklen_t len);

  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  std::string to_string() const;

  const sockaddr* native() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t native_len() const { return len_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) {
    return a.to_string() == b.to_string();
  }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace weft::net
