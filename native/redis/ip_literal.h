// Whether a host string is an IPv4 or IPv6 address literal (no resolution needed; TLS checks it
// as an IP address, not a DNS name).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

namespace respcache {

inline bool IsIpLiteral(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

}  // namespace respcache
