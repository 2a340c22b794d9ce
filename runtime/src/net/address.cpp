// SocketAddress parsing and printing (inet_pton / inet_ntop).
#include "weft/net/address.hpp"

#if !defined(_WIN32)
#include <arpa/inet.h>
#endif

#include <charconv>
#include <cstring>

#include "weft/status.hpp"

namespace weft::net {

namespace {

weft::Status bad(std::string_view text, std::string_view why) {
  return weft::InvalidArgumentError("weft: bad socket address '" + std::string(text) + "': " +
                                    std::string(why) +
                                    " (expected 127.0.0.1:8080 or [::1]:8080)");
}

}  // namespace

weft::StatusOr<SocketAddress> SocketAddress::parse(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad(text, "no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return bad(text, "the port must be a number from 0 to 65535");
  }
  SocketAddress a;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    const std::string h(host.substr(1, host.size() - 2));
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (::inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) != 1) return bad(text, "not an IPv6 address");
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  const std::string h(host);
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (::inet_pton(AF_INET, h.c_str(), &in4->sin_addr) != 1) {
    return bad(text, "not a numeric IPv4 address (IPv6 goes in brackets)");
  }
  in4->sin_family = AF_INET;
  in4->sin_port = htons(static_cast<std::uint16_t>(port));
  a.len_ = sizeof(sockaddr_in);
  return a;
}

SocketAddress SocketAddress::ipv4_loopback(std::uint16_t port) {
  SocketAddress a;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  in4->sin_family = AF_INET;
  in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in4->sin_port = htons(port);
  a.len_ = sizeof(sockaddr_in);
  return a;
}

SocketAddress SocketAddress::ipv6_loopback(std::uint16_t port) {
  SocketAddress a;
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  in6->sin6_family = AF_INET6;
  in6->sin6_addr = in6addr_loopback;
  in6->sin6_port = htons(port);
  a.len_ = sizeof(sockaddr_in6);
  return a;
}

SocketAddress SocketAddress::from_native(const sockaddr* addr, socklen_t len) {
  SocketAddress a;
  std::memcpy(&a.storage_, addr, std::min<std::size_t>(len, sizeof(a.storage_)));
  a.len_ = len;
  return a;
}

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof(buf));
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "(unspecified)";
}

}  // namespace weft::net
