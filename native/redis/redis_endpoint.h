// Where and as whom a connection reaches Redis: what the JavaScript options resolve to.
#pragma once
#include <string>

namespace respcache {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string path;  // unix socket path; when set, host and port are unused
  std::string username;
  std::string password;
  int db = 0;
};

// "host:port" or "unix:/path", for log lines and error messages: never the credentials.
std::string Describe(const RedisEndpoint& endpoint);

}  // namespace respcache
