// Where and as whom a connection reaches Redis: what the JavaScript options resolve to.
#pragma once
#include <memory>
#include <string>

#include "redis/tls_context.h"

namespace respcache {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string path;  // unix socket path; when set, host and port are unused
  std::string username;
  std::string password;
  int db = 0;
  // Set: TLS over the TCP connection, with these settings (shared by every connection that uses
  // them). Null: plain TCP.
  std::shared_ptr<const TlsContext> tls;
};

// "host:port" or "unix:/path", for log lines and error messages: never the credentials.
std::string Describe(const RedisEndpoint& endpoint);

}  // namespace respcache
